#include "rule_store.hpp"

#include "toggle/core/json.hpp"

namespace toggle::targeting {
namespace {

constexpr const char* kSqliteColumns = "flag_name TEXT NOT NULL UNIQUE, is_enabled INTEGER NOT NULL DEFAULT 1, rules TEXT NOT NULL";
// The seed's table (targeting-service/db/init.sql), adopted with its rows if it exists.
constexpr const char* kPostgresColumns = "flag_name VARCHAR(100) UNIQUE NOT NULL, is_enabled BOOLEAN NOT NULL DEFAULT true, rules JSONB NOT NULL";

constexpr const char* kColumns = "id, flag_name, is_enabled, rules, created_at, updated_at, version";

TargetingRule from_row(const sql::Row& r) {
  return {r.integer(0), r.text(1), r.boolean(2), canonical_json(r.text(3)), r.text(4), r.text(5), r.integer(6)};
}

}  // namespace

// A seed's rows may be any JSON: rules are brought back to canonical text too.
std::string canonical_json(const std::string& text) {
  json parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? text : parsed.dump();
}

json to_json(const TargetingRule& r) {
  return {{"id", r.id},
          {"flag_name", r.flag_name},
          {"is_enabled", r.is_enabled},
          {"rules", json::parse(r.rules, nullptr, false)},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at}};
}

RuleStore::RuleStore(sql::Database& db, const std::string& database_url)
    : ItemStore(db, database_url, {"targeting-service", kSqliteColumns, kPostgresColumns, "rule", "targeting_rules", "flag_name", kColumns, "rules"}, from_row, to_json) {}

TargetingRule RuleStore::create(const std::string& flag_name, const std::string& rules, bool is_enabled) {
  return item(feed_.insert_row(
      flag_name, {{"flag_name", flag_name}, {"is_enabled", is_enabled}, {"rules", rules}},
      Error::conflict("rule_exists", "a rule for flag '" + flag_name + "' already exists; change it with PUT /rules/" +
                                         flag_name)));
}

std::optional<TargetingRule> RuleStore::update(const std::string& flag_name, const std::optional<std::string>& rules,
                                              std::optional<bool> is_enabled) {
  return maybe(feed_.update_row(flag_name, {{"rules", sql::nullable(rules)}, {"is_enabled", sql::nullable(is_enabled)}}));
}

}  // namespace toggle::targeting
