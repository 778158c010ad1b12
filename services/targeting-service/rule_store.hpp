// Targeting rules at rest, one per flag name, in a FeedStore: every write is versioned and
// published to the change feed that evaluation-service follows. `rules` is the canonical JSON
// text of a rule that passed toggle::rules::parse_rule.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "toggle/core/feed_store.hpp"

namespace toggle::targeting {

struct TargetingRule {
  std::int64_t id = 0;
  std::string flag_name;
  bool is_enabled = true;
  std::string rules;  // JSON text
  std::string created_at, updated_at;
  std::int64_t version = 0;
};

// The rule as the API and the change feed send it: {"id","flag_name","is_enabled","rules",
// "created_at","updated_at"}.
nlohmann::json to_json(const TargetingRule& rule);

struct RuleUpdate {
  std::optional<std::string> rules;  // JSON text
  std::optional<bool> is_enabled;
};

class RuleStore {
 public:
  RuleStore(sql::Database& db, const std::string& database_url);  // applies the migrations

  // Throws Error{conflict, "rule_exists"} if the flag already has a rule.
  TargetingRule create(const std::string& flag_name, const std::string& rules, bool is_enabled);
  std::optional<TargetingRule> get(const std::string& flag_name);
  std::vector<TargetingRule> list();
  std::optional<TargetingRule> update(const std::string& flag_name, const RuleUpdate& update);
  bool remove(const std::string& flag_name);
  FeedStore& feed() { return feed_; }

 private:
  FeedStore feed_;
};

}  // namespace toggle::targeting
