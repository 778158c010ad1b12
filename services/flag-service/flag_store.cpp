#include "flag_store.hpp"

#include "toggle/core/json.hpp"
#include "toggle/core/text.hpp"

namespace toggle::flags {
namespace {

std::vector<sql::Migration> migrations() {
  const changelog::Scope scope("flag");
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

FeedStore::Table table() {
  return {"flag-service", migrations(), "flag", "flags", "name", kColumns, "flags",
          [](const sql::Row& row) { return to_json(from_row(row)); }};
}

}  // namespace

json to_json(const Flag& f) {
  return {{"id", f.id},
          {"name", f.name},
          {"description", f.description},
          {"is_enabled", f.is_enabled},
          {"created_at", f.created_at},
          {"updated_at", f.updated_at}};
}

FlagStore::FlagStore(sql::Database& db, const std::string& database_url) : feed_(db, database_url, table()) {}

Flag FlagStore::create(const std::string& name, const std::string& description, bool is_enabled) {
  try {
    return feed_.insert(name, [&](sql::Connection& c, std::int64_t version) {
      std::string now = iso8601_now();
      auto r = c.exec(std::string("INSERT INTO flags (name, description, is_enabled, created_at, updated_at, version) "
                                  "VALUES ($1, $2, $3, $4, $4, $5) RETURNING ") +
                          kColumns,
                      {name, description, is_enabled, now, version});
      return from_row(r.rows.at(0));
    });
  } catch (const sql::Error& e) {
    if (e.kind() != ErrorKind::conflict) throw;
    throw Error::conflict("flag_exists", "flag '" + name + "' already exists");
  }
}

std::optional<Flag> FlagStore::get(const std::string& name) {
  auto row = feed_.find(name);
  if (!row) return std::nullopt;
  return from_row(*row);
}

std::vector<Flag> FlagStore::list() {
  std::vector<Flag> out;
  for (auto& row : feed_.all()) out.push_back(from_row(row));
  return out;
}

std::optional<Flag> FlagStore::update(const std::string& name, const FlagUpdate& u) {
  return feed_.update(name, [&](sql::Connection& c, std::int64_t version) {
    std::string now = iso8601_now();
    sql::Param description = u.description ? sql::Param(std::string_view(*u.description)) : sql::Param(nullptr);
    sql::Param enabled = u.is_enabled ? sql::Param(*u.is_enabled) : sql::Param(nullptr);
    auto r = c.exec(std::string("UPDATE flags SET description = COALESCE($2, description), "
                                "is_enabled = COALESCE($3, is_enabled), updated_at = $4, version = $5 "
                                "WHERE name = $1 RETURNING ") +
                        kColumns,
                    {name, description, enabled, now, version});
    return from_row(r.rows.at(0));
  });
}

bool FlagStore::remove(const std::string& name) { return feed_.remove(name); }

}  // namespace toggle::flags
