// flag-service (port 8002): flags and the kill switch, with the change feed evaluation follows.
//   POST /flags                         (write) create {name, description?, is_enabled?=false}
//   GET  /flags, /flags/{name}          (read)  list by name, read one
//   PUT|PATCH /flags/{name}             (write) partial update {description?, is_enabled?}
//   DELETE /flags/{name}                (write)
//   GET  /changes?since=&epoch=&wait_ms= (read) change feed (long poll)
#pragma once

#include <memory>
#include <string>

#include "flag_store.hpp"
#include "toggle/core/app.hpp"
#include "toggle/core/auth.hpp"
#include "toggle/core/service.hpp"

namespace toggle::flags {

class FlagService : public App {
 public:
  struct Config {
    std::string auth_url, service_key;
    DatabaseSettings database;
    static Config from_env(Env& env, const ServiceSettings& service);
  };

  explicit FlagService(const Config& config);
  ~FlagService() override;
  FlagStore& store() { return *store_; }
  sql::Database& database() { return *db_; }

 private:
  void add_routes();
  Reply create(Request& req);
  Reply list(Request& req);
  Reply read(Request& req);
  Reply update(Request& req);
  Reply remove(Request& req);

  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<FlagStore> store_;
  KeyValidator keys_;
};

}  // namespace toggle::flags
