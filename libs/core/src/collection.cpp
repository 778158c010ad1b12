#include "toggle/core/collection.hpp"

#include "toggle/core/checks.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle {

void add_collection_routes(Router& router, KeyValidator& keys, FeedStore& store, const std::string& path,
                           const std::string& param, CollectionItems items, RouteOptions writes) {
  std::string item = path + "/{" + param + "}";
  auto key_of = [param](const Request& req) { return checked_flag_name(req.path_param(param), param); };
  auto not_found = [items](const std::string& key) { return Error::not_found(items.not_found_code, items.not_found(key)); };
  writes = key_checked_before_body(keys, Scope::write, writes);  // a refused write's body is not read
  router.post(path, with_api_key(keys, Scope::write, items.create), writes);
  router.get(path, with_api_key(keys, Scope::read, [&store](Request&) -> Reply {
               json all = json::array();
               for (const auto& row : store.all()) all.push_back(store.to_json(row));
               return json_response(200, all);
             }));
  // Before the item's route: "<path>/changes" is the feed, not an item (its GET).
  router.get(items.changes, with_api_key(keys, Scope::read, [&store](Request& req) { return store.changes(req); }));
  router.get(item, with_api_key(keys, Scope::read, [&store, key_of, not_found, read = items.read](Request& req) -> Reply {
               std::string key = key_of(req);
               auto row = store.find(key);
               if (!row) throw not_found(key);
               if (read) return json_response(200, read(req, store.to_json(*row)));
               return json_response(200, store.to_json(*row));
             }));
  Handler update = with_api_key(keys, Scope::write, items.update);
  router.put(item, update, writes);
  router.patch(item, update, writes);
  std::function<bool(const std::string&)> remove = items.remove;
  if (!remove) remove = [&store](const std::string& key) { return store.remove(key); };
  router.del(item, with_api_key(keys, Scope::write, [remove, key_of, not_found, noun = items.noun](Request& req) -> Reply {
               std::string key = key_of(req);
               if (!remove(key)) throw not_found(key);
               log::info(noun + " deleted", {{"flag", key}});
               return empty_response(204);
             }));
}

}  // namespace toggle
