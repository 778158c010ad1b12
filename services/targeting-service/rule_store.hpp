// Targeting rules at rest, one per flag name, in a FeedStore (ItemStore): every write is versioned and
// published to the change feed that evaluation-service follows. `rules` is the canonical JSON
// text (toggle::rules::to_json) of a legacy rule or an array of rules that passed validation.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "toggle/core/collection.hpp"

namespace toggle::targeting {

struct TargetingRule {
  std::int64_t id = 0;
  std::string flag_name;
  bool is_enabled = true;
  std::string rules;  // JSON text
  std::string created_at, updated_at;
  std::int64_t version = 0;
};

// JSON text read from a JSON column, as the API wrote it: PostgreSQL's JSONB prints its own way
// (spaces, its key order); SQLite keeps the text. Text that is not JSON is returned as it is.
std::string canonical_json(const std::string& text);

// The rule as the API and the change feed send it: {"id","flag_name","is_enabled","rules",
// "created_at","updated_at"}.
nlohmann::json to_json(const TargetingRule& rule);

class RuleStore : public ItemStore<TargetingRule> {
 public:
  RuleStore(sql::Database& db, const std::string& database_url);  // applies the migrations

  // Throws Error{conflict, "rule_exists"} if the flag already has a rule.
  TargetingRule create(const std::string& flag_name, const std::string& rules, bool is_enabled);
  // `rules` (JSON text) and `is_enabled` are changed when given; nullopt if the flag has no rule.
  std::optional<TargetingRule> update(const std::string& flag_name, const std::optional<std::string>& rules,
                                      std::optional<bool> is_enabled);
};

}  // namespace toggle::targeting
