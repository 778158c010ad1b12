// targeting-service's HTTP API (every route needs a valid API key):
//   POST /rules                            create {flag_name, rules, is_enabled?}
//   GET  /rules                            list, by flag name
//   GET|PUT|PATCH|DELETE /rules/{flag_name}  read, partial update {rules?, is_enabled?}, delete
//   GET  /changes?since=&epoch=&wait_ms=   change feed for evaluation-service (long poll)
// A rule is {"type":"PERCENTAGE","value":0..100} or {"type":"USER_LIST","values":[user ids]}.
#pragma once

#include "rule_store.hpp"
#include "toggle/core/auth.hpp"
#include "toggle/core/change_feed.hpp"
#include "toggle/core/router.hpp"

namespace toggle::targeting {

class Api {
 public:
  Api(RuleStore& store, KeyValidator& keys);
  void add_routes(Router& router);
  ChangeFeed& feed() { return feed_; }

 private:
  Reply create(Request& req);
  Reply list(Request& req);
  Reply read(Request& req);
  Reply update(Request& req);
  Reply remove(Request& req);
  Reply changes(Request& req);

  RuleStore& store_;
  KeyValidator& keys_;
  ChangeFeed feed_;
};

}  // namespace toggle::targeting
