#include "flag_store.hpp"

#include "toggle/core/changelog.hpp"
#include "toggle/core/text.hpp"

namespace toggle::flags {
namespace {

std::vector<sql::Migration> migrations() {
  const changelog::Scope& scope = FlagStore::changes_scope();
  static const std::string sqlite = std::string(R"(
    CREATE TABLE flags (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      name TEXT NOT NULL UNIQUE,
      description TEXT,
      is_enabled INTEGER NOT NULL DEFAULT 0,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL,
      version INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX flags_version ON flags (version);)") +
                                    std::string(changelog::kLegacySchemaSqlite);
  // The seed's table (flag-service/db/init.sql), adopted with its rows if it exists.
  static const std::string postgres = std::string(R"(
    CREATE TABLE IF NOT EXISTS flags (
      id SERIAL PRIMARY KEY,
      name VARCHAR(100) UNIQUE NOT NULL,
      description TEXT,
      is_enabled BOOLEAN NOT NULL DEFAULT false,
      created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP,
      updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP);
    ALTER TABLE flags ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0;
    CREATE INDEX IF NOT EXISTS flags_version ON flags (version);)") +
                                      changelog::schema_postgres(scope);
  // 2: the change log's tables get the feed's name (PostgreSQL had them from the start).
  static const std::string sqlite_scoped = changelog::scope_legacy_tables_sqlite(scope);
  return {{1, sqlite, postgres}, {2, sqlite_scoped, ""}};
}

constexpr const char* kColumns = "id, name, description, is_enabled, created_at, updated_at, version";

Flag from_row(const sql::Row& r) {
  return {r.integer(0), r.text(1), r.text(2), r.boolean(3), r.text(4), r.text(5), r.integer(6)};
}

std::string select(const char* rest) { return std::string("SELECT ") + kColumns + " FROM flags " + rest; }

}  // namespace

const changelog::Scope& FlagStore::changes_scope() {
  static const changelog::Scope scope("flag");
  return scope;
}

FlagStore::FlagStore(sql::Database& db) : db_(db) { sql::migrate(db_, migrations(), "flag-service"); }

Flag FlagStore::create(const std::string& name, const std::string& description, bool is_enabled) {
  return db_.transaction([&](sql::Connection& c) {
    std::int64_t v = changelog::next_version(c, changes_scope());
    std::string now = iso8601_now();
    auto r = c.exec(std::string("INSERT INTO flags (name, description, is_enabled, created_at, updated_at, version) "
                                "VALUES ($1, $2, $3, $4, $4, $5) RETURNING ") +
                        kColumns,
                    {name, description, is_enabled, now, v});
    changelog::mark_present(c, changes_scope(), name);
    return from_row(r.rows.at(0));
  });
}

std::optional<Flag> FlagStore::get(const std::string& name) {
  auto r = db_.exec(select("WHERE name = $1"), {name});
  if (r.rows.empty()) return std::nullopt;
  return from_row(r.rows[0]);
}

std::vector<Flag> FlagStore::list() {
  std::vector<Flag> out;
  for (auto& row : db_.exec(select("ORDER BY name")).rows) out.push_back(from_row(row));
  return out;
}

std::optional<Flag> FlagStore::update(const std::string& name, const FlagUpdate& u) {
  return db_.transaction([&](sql::Connection& c) -> std::optional<Flag> {
    if (c.exec("SELECT 1 FROM flags WHERE name = $1", {name}).rows.empty()) return std::nullopt;
    std::int64_t v = changelog::next_version(c, changes_scope());
    std::string now = iso8601_now();
    sql::Param description = u.description ? sql::Param(std::string_view(*u.description)) : sql::Param(nullptr);
    sql::Param enabled = u.is_enabled ? sql::Param(*u.is_enabled) : sql::Param(nullptr);
    auto r = c.exec(std::string("UPDATE flags SET description = COALESCE($2, description), "
                                "is_enabled = COALESCE($3, is_enabled), updated_at = $4, version = $5 "
                                "WHERE name = $1 RETURNING ") +
                        kColumns,
                    {name, description, enabled, now, v});
    return from_row(r.rows.at(0));
  });
}

std::optional<std::int64_t> FlagStore::remove(const std::string& name) {
  return changelog::remove(db_, changes_scope(), "DELETE FROM flags WHERE name = $1", name);
}

FlagChanges FlagStore::changes_since(std::int64_t since, const std::string& epoch) {
  auto ch = changelog::read(db_, changes_scope(), since, epoch, select("ORDER BY name"),
                            select("WHERE version > $1 ORDER BY version"));
  FlagChanges out{ch.epoch, ch.version, ch.full, {}, std::move(ch.deleted)};
  for (auto& row : ch.rows) out.flags.push_back(from_row(row));
  return out;
}

std::int64_t FlagStore::version() { return changelog::current_version(db_, changes_scope()); }
std::string FlagStore::epoch() { return changelog::epoch(db_, changes_scope()); }

}  // namespace toggle::flags
