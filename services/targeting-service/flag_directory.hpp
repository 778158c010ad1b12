// Which flags exist, as flag-service says: targeting-service follows flag-service's change feed,
// so that a rule is only written for a flag that exists (404 otherwise) and a flag's rule goes
// when the flag is deleted -- a flag re-created under the same name starts without targeting.
// A deletion missed while either service was down is caught by the next full resync (at start,
// and every SYNC_FULL_RESYNC_MS): rules of flags absent from the full set are deleted then.
#pragma once

#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <set>
#include <string>

#include "rule_store.hpp"
#include "toggle/core/client.hpp"
#include "toggle/core/feed_follower.hpp"

namespace toggle::targeting {

class FlagDirectory {
 public:
  // `options`: flag-service's base URL and the service key.
  FlagDirectory(FeedOptions options, RuleStore& rules);
  ~FlagDirectory();
  void start();
  void stop();
  // Throws Error{not_found, "flag_not_found"} unless the flag exists; asks flag-service directly
  // when the feed has not said so yet (a flag created a moment ago), and throws
  // Error{unavailable} when it cannot.
  void require_flag(const std::string& flag_name);
  bool synced() const;

 private:
  void apply(const nlohmann::json& reply);

  FeedOptions options_;
  RuleStore& rules_;
  mutable std::mutex mutex_;
  std::set<std::string, std::less<>> flags_;
  bool synced_ = false;
  FeedFollower follower_;
};

}  // namespace toggle::targeting
