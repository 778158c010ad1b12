#include "flag_store.hpp"

#include "toggle/core/json.hpp"

namespace toggle::flags {
namespace {

constexpr const char* kSqliteColumns = "name TEXT NOT NULL UNIQUE, description TEXT, is_enabled INTEGER NOT NULL DEFAULT 0";
// The seed's table (flag-service/db/init.sql), adopted with its rows if it exists.
constexpr const char* kPostgresColumns = "name VARCHAR(100) UNIQUE NOT NULL, description TEXT, is_enabled BOOLEAN NOT NULL DEFAULT false";

constexpr const char* kColumns = "id, name, description, is_enabled, created_at, updated_at, version";

Flag from_row(const sql::Row& r) {
  return {r.integer(0), r.text(1), r.text(2), r.boolean(3), r.text(4), r.text(5), r.integer(6)};
}

}  // namespace

json to_json(const Flag& f) {
  return {{"id", f.id},
          {"name", f.name},
          {"description", f.description},
          {"is_enabled", f.is_enabled},
          {"created_at", f.created_at},
          {"updated_at", f.updated_at}};
}

FlagStore::FlagStore(sql::Database& db, const std::string& database_url)
    : ItemStore(db, database_url, {"flag-service", kSqliteColumns, kPostgresColumns, "flag", "flags", "name", kColumns, "flags"}, from_row, to_json) {}

Flag FlagStore::create(const std::string& name, const std::string& description, bool is_enabled) {
  return item(feed_.insert_row(name, {{"name", name}, {"description", description}, {"is_enabled", is_enabled}},
                               Error::conflict("flag_exists", "flag '" + name + "' already exists")));
}

std::optional<Flag> FlagStore::update(const std::string& name, const std::optional<std::string>& description,
                                      std::optional<bool> is_enabled) {
  return maybe(feed_.update_row(name, {{"description", sql::nullable(description)}, {"is_enabled", sql::nullable(is_enabled)}}));
}

}  // namespace toggle::flags
