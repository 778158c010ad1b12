// targeting-service (port 8003): the targeting rule of each flag, with the change feed evaluation
// follows.
//   POST /rules                             (write) create {flag_name, rules, is_enabled?=true}
//   GET  /rules, /rules/{flag_name}         (read)  list by flag name, read one
//   PUT|PATCH /rules/{flag_name}            (write) partial update {rules?, is_enabled?}
//   DELETE /rules/{flag_name}               (write)
//   GET  /changes?since=&epoch=&wait_ms=    (read)  change feed (long poll)
// A rule is {"type":"PERCENTAGE","value":0..100} or {"type":"USER_LIST","values":[user ids]}, for a
// flag that exists in flag-service (FlagDirectory).
#pragma once

#include <memory>
#include <string>

#include "flag_directory.hpp"
#include "rule_store.hpp"
#include "toggle/core/app.hpp"
#include "toggle/core/auth.hpp"
#include "toggle/core/service.hpp"

namespace toggle::targeting {

class TargetingService : public App {
 public:
  struct Config {
    std::string auth_url, flag_url, service_key;
    DatabaseSettings database;
    std::chrono::milliseconds sync_wait{25000}, full_resync{300000};
    static Config from_env(Env& env, const ServiceSettings& service);
  };

  explicit TargetingService(const Config& config);
  ~TargetingService() override;
  RuleStore& store() { return *store_; }
  sql::Database& database() { return *db_; }

 private:
  void add_routes();
  Reply create(Request& req);
  Reply list(Request& req);
  Reply read(Request& req);
  Reply update(Request& req);
  Reply remove(Request& req);

  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<RuleStore> store_;
  KeyValidator keys_;
  std::unique_ptr<FlagDirectory> flags_;
};

}  // namespace toggle::targeting
