// API keys at rest: a name, the SHA-256 of the key, and whether it is still active.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "toggle/core/sql.hpp"

namespace toggle::auth {

struct ApiKey {
  std::int64_t id = 0;
  std::string name;
  bool is_active = true;
  std::string created_at;
  std::optional<std::string> revoked_at;
};

class KeyStore {
 public:
  explicit KeyStore(sql::Database& db);  // applies the migrations

  ApiKey create(const std::string& name, const std::string& key_hash);
  std::optional<ApiKey> find_active(const std::string& key_hash);
  std::vector<ApiKey> list();
  // Marks the key inactive; false if no key has this id. Revoking twice is not an error.
  bool revoke(std::int64_t id);
  // Stores `key_hash` under `name` unless that hash is already known (active or revoked).
  // Returns false when the hash exists but was revoked.
  bool ensure(const std::string& name, const std::string& key_hash);
  bool ping() { return db_.ping(); }

 private:
  sql::Database& db_;
};

}  // namespace toggle::auth
