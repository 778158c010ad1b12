// A collection of named items kept in a FeedStore, served over REST -- flag-service's flags and
// targeting-service's rules are both one. What they share lives here, once:
//   ItemStore<Item>          typed reads and deletes over the FeedStore; a service's store adds
//                            only its writes (which columns, which conflict error)
//   CollectionService<Store> the App around it: the database, key checks with auth-service, the
//                            routes (reads need `read`, writes `write`), GET /changes, readiness,
//                            and the parked polls answered at shutdown; a service with a second
//                            collection (targeting-service's segments) serves its ItemStore too,
//                            with a change feed at another path
// A service supplies what is its own: the item's model, its validation, its handlers.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "toggle/core/app.hpp"
#include "toggle/core/auth.hpp"
#include "toggle/core/feed_store.hpp"
#include "toggle/core/service.hpp"

namespace toggle {

template <class Item>
class ItemStore {
 public:
  using FromRow = Item (*)(const sql::Row&);
  using ToJson = nlohmann::json (*)(const Item&);
  // `table.to_json` is left out: an item is sent as `to_json(from_row(row))`.
  ItemStore(sql::Database& db, const std::string& database_url, FeedStore::Table table, FromRow from_row,
            ToJson to_json)
      : feed_(db, database_url, with_json(std::move(table), from_row, to_json)), from_row_(from_row) {}

  std::optional<Item> get(std::string_view key) { return maybe(feed_.find(key)); }
  std::vector<Item> list() {  // by key
    std::vector<Item> items;
    for (const auto& row : feed_.all()) items.push_back(from_row_(row));
    return items;
  }
  bool remove(std::string_view key) { return feed_.remove(key); }
  FeedStore& feed() { return feed_; }

 protected:
  Item item(const sql::Row& row) const { return from_row_(row); }
  std::optional<Item> maybe(const std::optional<sql::Row>& row) const {
    if (!row) return std::nullopt;
    return from_row_(*row);
  }
  FeedStore feed_;

 private:
  static FeedStore::Table with_json(FeedStore::Table table, FromRow from_row, ToJson to_json) {
    table.to_json = [from_row, to_json](const sql::Row& row) { return to_json(from_row(row)); };
    return table;
  }
  FromRow from_row_;
};

// What a service says of its items, for the routes the collection serves alike.
struct CollectionItems {
  std::string noun;            // "flag": logged as "flag deleted"
  std::string not_found_code;  // "flag_not_found"
  std::function<std::string(const std::string& key)> not_found;  // the 404 message
  Handler create;              // POST <path>: the service's own
  Handler update;              // PUT or PATCH <path>/{param}: a partial update, the service's own
  // DELETE <path>/{param}: the service's own when given (e.g. to refuse deleting an item still in
  // use), else the store's; false when there was no such item.
  std::function<bool(const std::string& key)> remove;
  std::string changes = "/changes";  // the path of the collection's change feed
};

// The routes of a collection, with the key checks (reads need the `read` scope, writes `write`):
// POST <path> and PUT/PATCH <path>/{param} run the service's handlers; GET <path> (all, by key),
// GET <path>/{param} and DELETE <path>/{param} are served from `store` here; GET <items.changes>
// serves its change feed. Keys are flag names. `writes`: options of the routes that take a body.
void add_collection_routes(Router& router, KeyValidator& keys, FeedStore& store, const std::string& path,
                           const std::string& param, CollectionItems items, RouteOptions writes = {});

// `Store` is an ItemStore<…> subclass constructed from (sql::Database&, database URL).
template <class Store>
class CollectionService : public App {
 public:
  Store& store() { return *store_; }
  sql::Database& database() { return *db_; }

 protected:
  explicit CollectionService(const BackendSettings& settings)
      : db_(settings.database.open()),
        store_(std::make_unique<Store>(*db_, settings.database.url)),
        keys_(settings.auth_url, settings.service_key) {
    add_readiness_check([this] { return store_->feed().ping() ? "" : "database unreachable"; });
    add_readiness_check(http_health_check("auth-service", settings.auth_url));
  }
  void serve(const std::string& path, const std::string& param, CollectionItems items, RouteOptions writes = {}) {
    serve(store_->feed(), path, param, std::move(items), writes);
  }
  // Another collection of the service, kept in its database by a store the service owns (and
  // keeps until the App is destroyed), with its change feed at `items.changes`.
  void serve(FeedStore& store, const std::string& path, const std::string& param, CollectionItems items,
             RouteOptions writes = {}) {
    on_drain([&store] { store.close(); });
    add_collection_routes(router(), keys_, store, path, param, std::move(items), writes);
  }

 private:
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<Store> store_;
  KeyValidator keys_;
};

}  // namespace toggle
