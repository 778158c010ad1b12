// Targeting rules at rest, one per flag name; `rules` is the canonical JSON text of a rule that
// passed toggle::rules::parse_rule. Every write advances the change version (changelog.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "toggle/core/changelog.hpp"
#include "toggle/core/sql.hpp"

namespace toggle::targeting {

struct TargetingRule {
  std::int64_t id = 0;
  std::string flag_name;
  bool is_enabled = true;
  std::string rules;  // JSON text
  std::string created_at, updated_at;
  std::int64_t version = 0;
};

struct RuleUpdate {
  std::optional<std::string> rules;  // JSON text
  std::optional<bool> is_enabled;
};

struct RuleChanges {
  std::string epoch;
  std::int64_t version = 0;
  bool full = false;
  std::vector<TargetingRule> rules;
  std::vector<std::string> deleted;  // flag names whose rule was deleted
};

class RuleStore {
 public:
  explicit RuleStore(sql::Database& db);

  // Throws sql::Error{conflict} if the flag already has a rule.
  TargetingRule create(const std::string& flag_name, const std::string& rules, bool is_enabled);
  std::optional<TargetingRule> get(const std::string& flag_name);
  std::vector<TargetingRule> list();
  std::optional<TargetingRule> update(const std::string& flag_name, const RuleUpdate& update);
  std::optional<std::int64_t> remove(const std::string& flag_name);
  RuleChanges changes_since(std::int64_t since, const std::string& epoch);
  std::int64_t version();
  std::string epoch();
  bool ping() { return db_.ping(); }
  sql::Database& database() { return db_; }
  // The change log's tables and notification channel ("rule").
  static const changelog::Scope& changes_scope();

 private:
  sql::Database& db_;
};

}  // namespace toggle::targeting
