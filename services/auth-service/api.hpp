// auth-service's HTTP API.
//   POST /admin/keys, POST /keys   (master key)  create a key, shown once
//   GET  /admin/keys               (master key)  list keys, without secrets
//   DELETE /admin/keys/{id}        (master key)  revoke
//   ANY  /validate                 (any key)     200 if the key is active, else 401
#pragma once

#include <string>

#include "key_store.hpp"
#include "toggle/core/router.hpp"

namespace toggle::auth {

struct ApiConfig {
  std::string master_key;
};

void add_routes(Router& router, KeyStore& store, ApiConfig config);

// "tm_key_" + 64 lowercase hex characters from OpenSSL's CSPRNG.
std::string generate_key();

}  // namespace toggle::auth
