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
    std::string component;                 // who owns the schema, e.g. "flag-service"
    std::vector<sql::Migration> migrations;  // applied first (migrate.hpp)
    std::string scope;    // change log: <scope>_change_version, <scope>_tombstones, toggle_<scope>_changes
    std::string name;     // the items' table, e.g. "flags"
    std::string key;      // its key column, e.g. "name"
    std::string columns;  // the select list from_row() reads, e.g. "id, name, …, version"
    std::string items;    // the items' array in a GET /changes reply, e.g. "flags"
    std::function<nlohmann::json(const sql::Row&)> to_json;  // one item as the feed sends it
  };

  // Applies the table's migrations. `database_url` is DATABASE_URL: on PostgreSQL, replicas are
  // woken through LISTEN/NOTIFY.
  FeedStore(sql::Database& db, const std::string& database_url, Table table);
  ~FeedStore();

  // Runs `write(connection, version)` in one transaction whose writes carry `version`, the next
  // change version, and publishes the version once the transaction commits. insert() is for a new
  // item `key` (a conflict on the key throws sql::Error{conflict}); update() for an existing one:
  // nullopt when there is none (nothing is written).
  template <class Write>
  auto insert(std::string_view key, Write&& write) {
    auto [result, version] = db_.transaction([&](sql::Connection& c) {
      std::int64_t version = changelog::next_version(c, scope_);
      auto result = write(c, version);
      changelog::mark_present(c, scope_, key);
      return std::pair{std::move(result), version};
    });
    feed_.publish(version);
    return result;
  }
  template <class Write>
  auto update(std::string_view key, Write&& write) -> std::optional<decltype(write(std::declval<sql::Connection&>(), 0))> {
    using Result = decltype(write(std::declval<sql::Connection&>(), 0));
    auto written = db_.transaction([&](sql::Connection& c) -> std::optional<std::pair<Result, std::int64_t>> {
      if (!exists(c, key)) return std::nullopt;
      std::int64_t version = changelog::next_version(c, scope_);
      return std::pair{write(c, version), version};
    });
    if (!written) return std::nullopt;
    feed_.publish(written->second);
    return std::move(written->first);
  }
  // Deletes `key` and records its tombstone; false when there was no such item.
  bool remove(std::string_view key);

  std::optional<sql::Row> find(std::string_view key);
  std::vector<sql::Row> all();  // by key
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
  Response changes_reply(std::int64_t since, const std::string& epoch);

  sql::Database& db_;
  Table table_;
  changelog::Scope scope_;
  ChangeFeed feed_;
  std::unique_ptr<changelog::ReplicaSync> replicas_;
};

}  // namespace toggle
