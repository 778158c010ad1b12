#include "toggle/core/feed_store.hpp"

#include "toggle/core/database.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/text.hpp"

namespace toggle {
FeedStore::FeedStore(sql::Database& db, const std::string& database_url, Table table)
    : table_(std::move(table)),
      scope_(table_.scope),
      db_(migrated(db)),
      feed_(changelog::current_version(db_, scope_), changelog::epoch(db_, scope_),
            [this](std::int64_t since, const std::string& epoch) { return changes_reply(since, epoch); }) {
  if (db.dialect() == sql::Dialect::postgres)
    replicas_ = std::make_unique<changelog::ReplicaSync>(database_url, scope_, feed_, [this] { return version(); });
}

FeedStore::~FeedStore() = default;

// 1: the items' table with its version column and index, and the change log's tables; 2: SQLite
// files started with unscoped change-log tables, which get the feed's name (PostgreSQL had them);
// 101, …: the table's later changes (Table::changes).
sql::Database& FeedStore::migrated(sql::Database& db) {
  const std::string& t = table_.name;
  sqlite_migration_ = "CREATE TABLE " + t + " (id INTEGER PRIMARY KEY AUTOINCREMENT, " + table_.sqlite_columns +
                      ", created_at TEXT NOT NULL, updated_at TEXT NOT NULL);\nALTER TABLE " + t +
                      " ADD COLUMN version INTEGER NOT NULL DEFAULT 0;\nCREATE INDEX " + t + "_version ON " + t +
                      " (version);\n" + std::string(changelog::kLegacySchemaSqlite);
  postgres_migration_ = "CREATE TABLE IF NOT EXISTS " + t + " (id SERIAL PRIMARY KEY, " + table_.postgres_columns +
                        ", created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMPTZ DEFAULT "
                        "CURRENT_TIMESTAMP);\nALTER TABLE " + t +
                        " ADD COLUMN IF NOT EXISTS version BIGINT NOT NULL DEFAULT 0;\nCREATE INDEX IF NOT EXISTS " + t +
                        "_version ON " + t + " (version);\n" + changelog::schema_postgres(scope_);
  sqlite_scope_migration_ = changelog::scope_legacy_tables_sqlite(scope_);
  std::vector<sql::Migration> migrations{{1, sqlite_migration_, postgres_migration_}, {2, sqlite_scope_migration_, ""}};
  int version = 100;
  for (const auto& change : table_.changes) migrations.push_back({++version, change.sqlite, change.postgres});
  sql::migrate(db, migrations, table_.component);
  return db;
}

bool FeedStore::exists(sql::Connection& c, std::string_view key) {
  return !c.exec("SELECT 1 FROM " + table_.name + " WHERE " + table_.key + " = $1", {key}).rows.empty();
}

sql::Row FeedStore::insert_row(std::string_view key, const std::vector<Value>& values, const Error& on_conflict) {
  std::string columns, placeholders;
  std::vector<sql::Param> params;
  for (const auto& v : values) {
    params.push_back(v.value);
    columns += v.column + ", ";
    placeholders += "$" + std::to_string(params.size()) + ", ";
  }
  std::string now = iso8601_now();
  params.push_back(std::string_view(now));
  std::string at = "$" + std::to_string(params.size());
  std::string sql = "INSERT INTO " + table_.name + " (" + columns + "created_at, updated_at, version) VALUES (" +
                    placeholders + at + ", " + at + ", $" + std::to_string(params.size() + 1) + ") RETURNING " +
                    table_.columns;
  try {
    auto [row, version] = db_.transaction([&](sql::Connection& c) {
      std::int64_t version = changelog::next_version(c, scope_);
      params.push_back(version);
      auto r = c.exec(sql, params);
      changelog::mark_present(c, scope_, key);
      return std::pair{std::move(r.rows.at(0)), version};
    });
    feed_.publish(version);
    return row;
  } catch (const sql::Error& e) {
    if (e.kind() != ErrorKind::conflict) throw;
    throw on_conflict;
  }
}

std::optional<sql::Row> FeedStore::update_row(std::string_view key, const std::vector<Value>& values) {
  std::string assignments;
  std::vector<sql::Param> params{key};
  for (const auto& v : values) {
    params.push_back(v.value);
    assignments += v.column + " = COALESCE($" + std::to_string(params.size()) + ", " + v.column + "), ";
  }
  std::string now = iso8601_now();
  params.push_back(std::string_view(now));
  std::string sql = "UPDATE " + table_.name + " SET " + assignments + "updated_at = $" +
                    std::to_string(params.size()) + ", version = $" + std::to_string(params.size() + 1) +
                    " WHERE " + table_.key + " = $1 RETURNING " + table_.columns;
  auto written = db_.transaction([&](sql::Connection& c) -> std::optional<std::pair<sql::Row, std::int64_t>> {
    if (!exists(c, key)) return std::nullopt;
    std::int64_t version = changelog::next_version(c, scope_);
    params.push_back(version);
    return std::pair{std::move(c.exec(sql, params).rows.at(0)), version};
  });
  if (!written) return std::nullopt;
  feed_.publish(written->second);
  return std::move(written->first);
}

bool FeedStore::remove(std::string_view key) {
  auto version = changelog::remove(db_, scope_, "DELETE FROM " + table_.name + " WHERE " + table_.key + " = $1",
                                   std::string(key));
  if (!version) return false;
  feed_.publish(*version);
  return true;
}

json FeedStore::to_json(const sql::Row& row) const { return table_.to_json(row); }

std::string FeedStore::select(std::string_view rest) const {
  return "SELECT " + table_.columns + " FROM " + table_.name + " " + std::string(rest);
}

std::optional<sql::Row> FeedStore::find(std::string_view key) {
  auto r = db_.exec(select("WHERE " + table_.key + " = $1"), {key});
  if (r.rows.empty()) return std::nullopt;
  return std::move(r.rows[0]);
}

std::vector<sql::Row> FeedStore::all() { return db_.exec(select("ORDER BY " + table_.key)).rows; }

Response FeedStore::changes_reply(std::int64_t since, const std::string& epoch) {
  auto ch = changelog::read(db_, scope_, since, epoch, select("ORDER BY " + table_.key),
                            select("WHERE version > $1 ORDER BY version"));
  json items = json::array();
  for (const auto& row : ch.rows) items.push_back(table_.to_json(row));
  return json_response(200, {{"epoch", ch.epoch},
                             {"version", ch.version},
                             {"full", ch.full},
                             {table_.items, std::move(items)},
                             {"deleted", ch.deleted}});
}

Reply FeedStore::changes(const Request& req) { return feed_.handle(req); }

std::int64_t FeedStore::version() { return changelog::current_version(db_, scope_); }
std::string FeedStore::epoch() { return changelog::epoch(db_, scope_); }

}  // namespace toggle
