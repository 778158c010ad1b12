// flag-service's HTTP API (every route needs a valid API key):
//   POST /flags                       create {name, description?, is_enabled?}
//   GET  /flags                       list, by name
//   GET|PUT|PATCH|DELETE /flags/{name}  read, partial update {description?, is_enabled?}, delete
//   GET  /changes?since=&epoch=&wait_ms=  change feed for evaluation-service (long poll)
#pragma once

#include "flag_store.hpp"
#include "toggle/core/auth.hpp"
#include "toggle/core/change_feed.hpp"
#include "toggle/core/router.hpp"

namespace toggle::flags {

class Api {
 public:
  Api(FlagStore& store, KeyValidator& keys);
  void add_routes(Router& router);
  ChangeFeed& feed() { return feed_; }

 private:
  Reply create(Request& req);
  Reply list(Request& req);
  Reply read(Request& req);
  Reply update(Request& req);
  Reply remove(Request& req);
  Reply changes(Request& req);

  FlagStore& store_;
  KeyValidator& keys_;
  ChangeFeed feed_;
};

}  // namespace toggle::flags
