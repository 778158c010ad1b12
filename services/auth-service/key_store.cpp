#include "key_store.hpp"

#include "toggle/core/json.hpp"
#include "toggle/core/migrate.hpp"
#include "toggle/core/text.hpp"

namespace toggle::auth {
namespace {

const std::vector<sql::Migration> kMigrations = {
    {1,
     R"(CREATE TABLE api_keys (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          name TEXT NOT NULL,
          key_hash TEXT NOT NULL UNIQUE,
          is_active INTEGER NOT NULL DEFAULT 1,
          created_at TEXT NOT NULL,
          revoked_at TEXT);)",
     // The seed's table (auth-service/db/init.sql), adopted with its rows if it exists; there,
     // is_active may be NULL, which counts as inactive (as the original's "is_active = true").
     R"(CREATE TABLE IF NOT EXISTS api_keys (
          id SERIAL PRIMARY KEY,
          name VARCHAR(100) NOT NULL,
          key_hash VARCHAR(64) NOT NULL UNIQUE,
          is_active BOOLEAN DEFAULT true,
          created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP);
        ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS revoked_at TIMESTAMP WITH TIME ZONE;)"},
    // 2: scopes, as a JSON array of names; NULL for keys created without (default_scopes()).
    {2, "ALTER TABLE api_keys ADD COLUMN scopes TEXT;", "ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS scopes TEXT;"},
};

// NULL (created without scopes) -> default_scopes(); unknown names are ignored.
ScopeSet scopes_from(const sql::Row& r, std::size_t column) {
  if (r.is_null(column)) return default_scopes();
  ScopeSet scopes;
  json names = json::parse(r.text(column), nullptr, false);
  if (names.is_array())
    for (const auto& n : names)
      if (auto s = n.is_string() ? parse_scope(n.get<std::string>()) : std::nullopt) scopes.add(*s);
  return scopes;
}

sql::Param scopes_param(const ScopeSet& scopes, std::string& text) {
  if (scopes.empty()) return nullptr;
  text = scopes_json(scopes);
  return std::string_view(text);
}

constexpr const char* kColumns = "id, name, is_active, created_at, revoked_at, scopes";

ApiKey from_row(const sql::Row& r) {
  ApiKey k;
  k.id = r.integer(0);
  k.name = r.text(1);
  k.is_active = r.boolean(2);
  k.created_at = r.text(3);
  if (!r.is_null(4)) k.revoked_at = r.text(4);
  k.scopes = scopes_from(r, 5);
  return k;
}

}  // namespace

KeyStore::KeyStore(sql::Database& db) : db_(db) { sql::migrate(db_, kMigrations, "auth-service"); }

ApiKey KeyStore::create(const std::string& name, const std::string& key_hash, ScopeSet scopes) {
  std::string now = iso8601_now(), scopes_text;
  auto result = db_.exec(
      std::string("INSERT INTO api_keys (name, key_hash, is_active, created_at, scopes) VALUES ($1, $2, true, $3, $4) ") +
          "RETURNING " + kColumns,
      {name, key_hash, now, scopes_param(scopes, scopes_text)});
  return from_row(result.rows.at(0));
}

std::optional<ApiKey> KeyStore::find_active(const std::string& key_hash) {
  auto result = db_.exec(std::string("SELECT ") + kColumns + " FROM api_keys WHERE key_hash = $1 AND is_active = true",
                         {key_hash});
  if (result.rows.empty()) return std::nullopt;
  return from_row(result.rows[0]);
}

std::vector<ApiKey> KeyStore::list() {
  std::vector<ApiKey> keys;
  for (auto& row : db_.exec(std::string("SELECT ") + kColumns + " FROM api_keys ORDER BY id").rows)
    keys.push_back(from_row(row));
  return keys;
}

bool KeyStore::revoke(std::int64_t id) {
  return db_.transaction([&](sql::Connection& c) {
    if (c.exec("SELECT 1 FROM api_keys WHERE id = $1", {id}).rows.empty()) return false;
    std::string now = iso8601_now();
    c.exec("UPDATE api_keys SET is_active = false, revoked_at = $2 WHERE id = $1 AND is_active IS NOT false",
           {id, now});
    return true;
  });
}

bool KeyStore::ensure(const std::string& name, const std::string& key_hash, ScopeSet scopes) {
  std::string scopes_text;
  sql::Param scopes_value = scopes_param(scopes, scopes_text);
  return db_.transaction([&](sql::Connection& c) {
    // Replicas starting together on one PostgreSQL database all get here: the first insert wins,
    // the others wait for it and insert nothing.
    std::string now = iso8601_now();
    c.exec(
        "INSERT INTO api_keys (name, key_hash, is_active, created_at, scopes) VALUES ($1, $2, true, $3, $4) "
        "ON CONFLICT (key_hash) DO NOTHING",
        {name, key_hash, now, scopes_value});
    // A key registered before scopes existed gets them now.
    c.exec("UPDATE api_keys SET scopes = $2 WHERE key_hash = $1 AND scopes IS NULL", {key_hash, scopes_value});
    return c.exec("SELECT is_active FROM api_keys WHERE key_hash = $1", {key_hash}).rows.at(0).boolean(0);
  });
}

}  // namespace toggle::auth
