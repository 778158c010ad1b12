#include "rule_store.hpp"

#include "toggle/core/json.hpp"
#include "toggle/core/text.hpp"

namespace toggle::targeting {
namespace {

std::vector<sql::Migration> migrations() {
  const changelog::Scope scope("rule");
  static const std::string sqlite = std::string(R"(
    CREATE TABLE targeting_rules (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      flag_name TEXT NOT NULL UNIQUE,
      is_enabled INTEGER NOT NULL DEFAULT 1,
      rules TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      version INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX targeting_rules_version ON targeting_rules (version);)") +
                                    std::string(changelog::kLegacySchemaSqlite);
  // The seed's table (targeting-service/db/init.sql), adopted with its rows if it exists.
  static const std::string postgres = std::string(R"(
    CREATE TABLE IF NOT EXISTS targeting_rules (
      id SERIAL PRIMARY KEY,
      flag_name VARCHAR(100) UNIQUE NOT NULL,
      is_enabled BOOLEAN NOT NULL DEFAULT true,
      rules JSONB NOT NULL,
      created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
      updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP);
    ALTER TABLE targeting_rules ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX IF NOT EXISTS targeting_rules_version ON targeting_rules (version);)") +
                                      changelog::schema_postgres(scope);
  // 2: the change log's tables get the feed's name (PostgreSQL had them from the start).
  static const std::string sqlite_scoped = changelog::scope_legacy_tables_sqlite(scope);
  return {{1, sqlite, postgres}, {2, sqlite_scoped, ""}};
}

constexpr const char* kColumns = "id, flag_name, is_enabled, rules, created_at, updated_at, version";

// PostgreSQL's JSONB prints its own way (spaces, its key order), and a seed's rows may be any
// JSON: rules are brought back to canonical text (SQLite keeps the canonical text the API wrote).
std::string canonical_rules(const std::string& text) {
  json parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? text : parsed.dump();
}

TargetingRule from_row(const sql::Row& r) {
  return {r.integer(0), r.text(1), r.boolean(2), canonical_rules(r.text(3)), r.text(4), r.text(5), r.integer(6)};
}

FeedStore::Table table() {
  return {"targeting-service", migrations(), "rule", "targeting_rules", "flag_name", kColumns, "rules",
          [](const sql::Row& row) { return to_json(from_row(row)); }};
}

}  // namespace

json to_json(const TargetingRule& r) {
  return {{"id", r.id},
          {"flag_name", r.flag_name},
          {"is_enabled", r.is_enabled},
          {"rules", json::parse(r.rules, nullptr, false)},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at}};
}

RuleStore::RuleStore(sql::Database& db, const std::string& database_url) : feed_(db, database_url, table()) {}

TargetingRule RuleStore::create(const std::string& flag_name, const std::string& rules, bool is_enabled) {
  try {
    return feed_.insert(flag_name, [&](sql::Connection& c, std::int64_t version) {
      std::string now = iso8601_now();
      auto r = c.exec(std::string("INSERT INTO targeting_rules (flag_name, is_enabled, rules, created_at, updated_at, "
                                  "version) VALUES ($1, $2, $3, $4, $4, $5) RETURNING ") +
                          kColumns,
                      {flag_name, is_enabled, rules, now, version});
      return from_row(r.rows.at(0));
    });
  } catch (const sql::Error& e) {
    if (e.kind() != ErrorKind::conflict) throw;
    throw Error::conflict("rule_exists", "a rule for flag '" + flag_name + "' already exists; change it with PUT /rules/" +
                                             flag_name);
  }
}

std::optional<TargetingRule> RuleStore::get(const std::string& flag_name) {
  auto row = feed_.find(flag_name);
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::vector<TargetingRule> RuleStore::list() {
  std::vector<TargetingRule> out;
  for (auto& row : feed_.all()) out.push_back(from_row(row));
  return out;
}

std::optional<TargetingRule> RuleStore::update(const std::string& flag_name, const RuleUpdate& u) {
  return feed_.update(flag_name, [&](sql::Connection& c, std::int64_t version) {
    std::string now = iso8601_now();
    sql::Param rules = u.rules ? sql::Param(std::string_view(*u.rules)) : sql::Param(nullptr);
    sql::Param enabled = u.is_enabled ? sql::Param(*u.is_enabled) : sql::Param(nullptr);
    auto r = c.exec(std::string("UPDATE targeting_rules SET rules = COALESCE($2, rules), "
                                "is_enabled = COALESCE($3, is_enabled), updated_at = $4, version = $5 "
                                "WHERE flag_name = $1 RETURNING ") +
                        kColumns,
                    {flag_name, rules, enabled, now, version});
    return from_row(r.rows.at(0));
  });
}

bool RuleStore::remove(const std::string& flag_name) { return feed_.remove(flag_name); }

}  // namespace toggle::targeting
