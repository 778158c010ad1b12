// The write side of a change feed, shared by flag-service and targeting-service: a table of items
// keyed by name (flags by name, rules by flag name) whose every write is stamped, in its own
// transaction, with the next change version (changelog.hpp), and published to the ChangeFeed once
// it commits; GET /changes answers from it. On PostgreSQL, the service's replicas wake each
// other's parked polls (changelog::ReplicaSync).
//
// A store says how its items are stored (its table, columns, JSON) and writes through insert(),
// update() and remove(); it never versions or publishes by hand.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/core/change_feed.hpp"
#include "toggle/core/changelog.hpp"
#include "toggle/core/migrate.hpp"
#include "toggle/core/sql.hpp"

namespace toggle {

class FeedStore {
 public:
  struct Table {
    std::string component;  // who owns the schema, e.g. "flag-service"
    // The items' own columns, per dialect, as in CREATE TABLE; the store adds id, created_at and
    // updated_at (the seed's columns), the version column, its index and the change log's tables.
    // On PostgreSQL the table is created IF NOT EXISTS, so a seed's table is adopted with its rows.
    std::string sqlite_columns, postgres_columns;
    std::string scope;    // change log: <scope>_change_version, <scope>_tombstones, toggle_<scope>_changes
    std::string name;     // the items' table, e.g. "flags"
    std::string key;      // its key column, e.g. "name"
    std::string columns;  // the select list from_row() reads, e.g. "id, name, …, version"
    std::string items;    // the items' array in a GET /changes reply, e.g. "flags"
    std::function<nlohmann::json(const sql::Row&)> to_json;  // one item as the feed sends it
    // Later changes of the items' table (a column added), per dialect: applied once each, in
    // order, after the store's own migrations, as the component's migrations 101, 102, …
    // (the store's own keep 1-100). Append only. On PostgreSQL, write them to also fit an adopted
    // table (ADD COLUMN IF NOT EXISTS).
    struct Change {
      std::string sqlite, postgres;
    };
    std::vector<Change> changes;
  };

  // Applies the table's migrations. `database_url` is DATABASE_URL: on PostgreSQL, replicas are
  // woken through LISTEN/NOTIFY.
  FeedStore(sql::Database& db, const std::string& database_url, Table table);
  ~FeedStore();

  // A column's value in a write; a null Param in update_row() leaves the column as it is.
  struct Value {
    std::string column;
    sql::Param value;
  };
  // INSERT of a new item `key` with `values` (its created_at, updated_at and version are set
  // here), published to the feed once committed; returns the stored row. A key that exists
  // throws `on_conflict`.
  sql::Row insert_row(std::string_view key, const std::vector<Value>& values, const Error& on_conflict);
  // Partial UPDATE of item `key`: the non-null values, updated_at and version; published once
  // committed. nullopt (nothing written) when there is no such item.
  std::optional<sql::Row> update_row(std::string_view key, const std::vector<Value>& values);
  // Deletes `key` and records its tombstone; false when there was no such item.
  bool remove(std::string_view key);

  std::optional<sql::Row> find(std::string_view key);
  std::vector<sql::Row> all();  // by key
  // A row as the API and the feed send it (Table::to_json).
  nlohmann::json to_json(const sql::Row& row) const;
  // SELECT <columns> FROM <table> <rest>
  std::string select(std::string_view rest) const;

  // GET /changes?since=&epoch=&wait_ms=
  Reply changes(const Request& req);
  // Shutdown: answer the parked polls now, and later ones at once.
  void close() { feed_.close(); }
  ChangeFeed& feed() { return feed_; }
  std::int64_t version();
  std::string epoch();
  bool ping() { return db_.ping(); }
  sql::Database& database() { return db_; }
  const changelog::Scope& scope() const { return scope_; }

 private:
  bool exists(sql::Connection& c, std::string_view key);
  sql::Database& migrated(sql::Database& db);
  Response changes_reply(std::int64_t since, const std::string& epoch);

  Table table_;
  changelog::Scope scope_;
  std::string sqlite_migration_, postgres_migration_, sqlite_scope_migration_;
  sql::Database& db_;  // migrated before the feed reads its version
  ChangeFeed feed_;
  std::unique_ptr<changelog::ReplicaSync> replicas_;
};

}  // namespace toggle
