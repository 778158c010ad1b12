// auth-service (port 8001): issues, lists, revokes and validates API keys.
//   POST /admin/keys, POST /keys   (admin)  create a key {name, scopes?}, shown once
//   GET  /admin/keys               (admin)  list keys, without secrets
//   DELETE /admin/keys/{id}        (admin)  revoke
//   ANY  /validate                 (any key) 200 {valid,id,name,scopes} if the key is active, else 401
// "admin": the master key (MASTER_KEY), or a key with the admin scope.
#pragma once

#include <memory>
#include <string>

#include "key_store.hpp"
#include "toggle/core/app.hpp"
#include "toggle/core/service.hpp"

namespace toggle::auth {

class AuthService : public App {
 public:
  struct Config {
    std::string master_key;
    std::string service_key;  // registered at start with service_scopes()
    DatabaseSettings database;
    static Config from_env(Env& env, const ServiceSettings& service);
  };

  explicit AuthService(const Config& config);
  ~AuthService() override;
  KeyStore& store() { return *store_; }
  sql::Database& database() { return *db_; }

 private:
  void add_routes();
  // Throws unless the request carries the master key or a key with the admin scope.
  void require_admin(const Request& req);

  std::string master_key_;
  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<KeyStore> store_;
};

// "tm_key_" + 64 lowercase hex characters from OpenSSL's CSPRNG.
std::string generate_key();

}  // namespace toggle::auth
