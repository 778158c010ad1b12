// Which flags exist and their variants, as flag-service says: targeting-service follows
// flag-service's change feed, so that a rule is only written for a flag that exists (404
// otherwise) and serves only variants it has, and a flag's rule goes when the flag is deleted --
// a flag re-created under the same name starts without targeting.
// A deletion missed while either service was down is caught by the next full resync (at start,
// and every SYNC_FULL_RESYNC_MS): rules of flags absent from the full set, and which flag-service
// then answers 404 for, are deleted.
#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "rule_store.hpp"
#include "toggle/core/client.hpp"
#include "toggle/core/feed_follower.hpp"
#include "toggle/rules/flag.hpp"

namespace toggle::targeting {

// A flag record of flag-service (its API and its change feed) has the keys of a variant part
// ("type", "variants", "default_variant", "off_variant") only when it has one; without them it is
// a boolean flag with the implicit variants. A record whose variant part does not parse (which
// flag-service never sends) counts as boolean, with a warning.
rules::FlagVariants flag_variants_of(const nlohmann::json& flag);

class FlagDirectory {
 public:
  // `options`: flag-service's base URL and the service key.
  FlagDirectory(FeedOptions options, RuleStore& rules);
  ~FlagDirectory();
  void start();
  void stop();
  // The flag's variants. Throws Error{not_found, "flag_not_found"} unless the flag exists; asks
  // flag-service directly when the feed has not said so yet (a flag created a moment ago) or
  // `ask_flag_service` (its variants changed a moment ago), and throws Error{unavailable} when
  // it cannot.
  rules::FlagVariants require_flag(const std::string& flag_name, bool ask_flag_service = false);
  bool synced() const;

 private:
  void apply(const nlohmann::json& reply);
  ClientResponse lookup(const std::string& flag_name) const;  // GET /flags/{name} of flag-service

  FeedOptions options_;
  RuleStore& rules_;
  mutable std::mutex mutex_;
  std::map<std::string, rules::FlagVariants, std::less<>> flags_;
  bool synced_ = false;
  FeedFollower follower_;
};

}  // namespace toggle::targeting
