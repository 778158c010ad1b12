// API keys at rest: a name, the SHA-256 of the key, its scopes, and whether it is still active.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "toggle/core/auth.hpp"
#include "toggle/core/sql.hpp"

namespace toggle::auth {

struct ApiKey {
  std::int64_t id = 0;
  std::string name;
  bool is_active = true;
  std::string created_at;
  std::optional<std::string> revoked_at;
  ScopeSet scopes;  // effective: a key stored without scopes has default_scopes()
};

class KeyStore {
 public:
  explicit KeyStore(sql::Database& db);  // applies the migrations

  // `scopes` empty: stored without scopes (default_scopes()).
  ApiKey create(const std::string& name, const std::string& key_hash, ScopeSet scopes);
  std::optional<ApiKey> find_active(const std::string& key_hash);
  std::vector<ApiKey> list();
  // Marks the key inactive; false if no key has this id. Revoking twice is not an error.
  bool revoke(std::int64_t id);
  // Stores `key_hash` under `name` with `scopes` unless that hash is already known (active or
  // revoked; a known one gets `scopes` if it has none). Returns false when it exists but was revoked.
  bool ensure(const std::string& name, const std::string& key_hash, ScopeSet scopes);
  bool ping() { return db_.ping(); }

 private:
  sql::Database& db_;
};

}  // namespace toggle::auth
