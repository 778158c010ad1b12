#include "rule_store.hpp"

#include "toggle/core/changelog.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/text.hpp"

namespace toggle::targeting {
namespace {

std::vector<sql::Migration> migrations() {
  const changelog::Scope& scope = RuleStore::changes_scope();
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

// SQLite keeps the canonical text the API wrote; PostgreSQL's JSONB prints its own way (spaces,
// its key order), and a seed's rows may be any JSON: both are brought back to canonical text.
std::string canonical_rules(const std::string& text, sql::Dialect dialect) {
  if (dialect == sql::Dialect::sqlite) return text;
  json parsed = json::parse(text, nullptr, false);
  return parsed.is_discarded() ? text : parsed.dump();
}

TargetingRule from_row(const sql::Row& r, sql::Dialect dialect) {
  return {r.integer(0), r.text(1), r.boolean(2), canonical_rules(r.text(3), dialect),
          r.text(4),    r.text(5), r.integer(6)};
}

std::string select(const char* rest) { return std::string("SELECT ") + kColumns + " FROM targeting_rules " + rest; }

}  // namespace

const changelog::Scope& RuleStore::changes_scope() {
  static const changelog::Scope scope("rule");
  return scope;
}

RuleStore::RuleStore(sql::Database& db) : db_(db) { sql::migrate(db_, migrations(), "targeting-service"); }

TargetingRule RuleStore::create(const std::string& flag_name, const std::string& rules, bool is_enabled) {
  return db_.transaction([&](sql::Connection& c) {
    std::int64_t v = changelog::next_version(c, changes_scope());
    std::string now = iso8601_now();
    auto r = c.exec(std::string("INSERT INTO targeting_rules (flag_name, is_enabled, rules, created_at, updated_at, "
                                "version) VALUES ($1, $2, $3, $4, $4, $5) RETURNING ") +
                        kColumns,
                    {flag_name, is_enabled, rules, now, v});
    changelog::mark_present(c, changes_scope(), flag_name);
    return from_row(r.rows.at(0), db_.dialect());
  });
}

std::optional<TargetingRule> RuleStore::get(const std::string& flag_name) {
  auto r = db_.exec(select("WHERE flag_name = $1"), {flag_name});
  if (r.rows.empty()) return std::nullopt;
  return from_row(r.rows[0], db_.dialect());
}

std::vector<TargetingRule> RuleStore::list() {
  std::vector<TargetingRule> out;
  for (auto& row : db_.exec(select("ORDER BY flag_name")).rows) out.push_back(from_row(row, db_.dialect()));
  return out;
}

std::optional<TargetingRule> RuleStore::update(const std::string& flag_name, const RuleUpdate& u) {
  return db_.transaction([&](sql::Connection& c) -> std::optional<TargetingRule> {
    if (c.exec("SELECT 1 FROM targeting_rules WHERE flag_name = $1", {flag_name}).rows.empty()) return std::nullopt;
    std::int64_t v = changelog::next_version(c, changes_scope());
    std::string now = iso8601_now();
    sql::Param rules = u.rules ? sql::Param(std::string_view(*u.rules)) : sql::Param(nullptr);
    sql::Param enabled = u.is_enabled ? sql::Param(*u.is_enabled) : sql::Param(nullptr);
    auto r = c.exec(std::string("UPDATE targeting_rules SET rules = COALESCE($2, rules), "
                                "is_enabled = COALESCE($3, is_enabled), updated_at = $4, version = $5 "
                                "WHERE flag_name = $1 RETURNING ") +
                        kColumns,
                    {flag_name, rules, enabled, now, v});
    return from_row(r.rows.at(0), db_.dialect());
  });
}

std::optional<std::int64_t> RuleStore::remove(const std::string& flag_name) {
  return changelog::remove(db_, changes_scope(), "DELETE FROM targeting_rules WHERE flag_name = $1", flag_name);
}

RuleChanges RuleStore::changes_since(std::int64_t since, const std::string& epoch) {
  auto ch = changelog::read(db_, changes_scope(), since, epoch, select("ORDER BY flag_name"),
                            select("WHERE version > $1 ORDER BY version"));
  RuleChanges out{ch.epoch, ch.version, ch.full, {}, std::move(ch.deleted)};
  for (auto& row : ch.rows) out.rules.push_back(from_row(row, db_.dialect()));
  return out;
}

std::int64_t RuleStore::version() { return changelog::current_version(db_, changes_scope()); }
std::string RuleStore::epoch() { return changelog::epoch(db_, changes_scope()); }

}  // namespace toggle::targeting
