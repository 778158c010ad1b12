#include "flag_store.hpp"

#include "toggle/core/json.hpp"

namespace toggle::flags {
namespace {

constexpr const char* kSqliteColumns = "name TEXT NOT NULL UNIQUE, description TEXT, is_enabled INTEGER NOT NULL DEFAULT 0";
// The seed's table (flag-service/db/init.sql), adopted with its rows if it exists.
constexpr const char* kPostgresColumns = "name VARCHAR(100) UNIQUE NOT NULL, description TEXT, is_enabled BOOLEAN NOT NULL DEFAULT false";

// The variant part (issue 11), NULL for flags without one: added to the tables of every earlier
// version, the seed's adopted one included.
const std::vector<FeedStore::Table::Change> kChanges = {
    {"ALTER TABLE flags ADD COLUMN variants TEXT", "ALTER TABLE flags ADD COLUMN IF NOT EXISTS variants TEXT"}};

constexpr const char* kColumns = "id, name, description, is_enabled, created_at, updated_at, version, variants";

Flag from_row(const sql::Row& r) {
  Flag f{r.integer(0), r.text(1), r.text(2), r.boolean(3), r.text(4), r.text(5), r.integer(6)};
  if (!r.is_null(7)) f.variants = r.text(7);
  return f;
}

}  // namespace

json to_json(const Flag& f) {
  json j = {{"id", f.id},
            {"name", f.name},
            {"description", f.description},
            {"is_enabled", f.is_enabled},
            {"created_at", f.created_at},
            {"updated_at", f.updated_at}};
  if (f.variants) j.update(json::parse(*f.variants));
  return j;
}

FlagStore::FlagStore(sql::Database& db, const std::string& database_url)
    : ItemStore(db, database_url,
                {"flag-service", kSqliteColumns, kPostgresColumns, "flag", "flags", "name", kColumns, "flags", {}, kChanges},
                from_row, to_json) {}

Flag FlagStore::create(const std::string& name, const std::string& description, bool is_enabled,
                       const std::optional<std::string>& variants) {
  return item(feed_.insert_row(
      name,
      {{"name", name}, {"description", description}, {"is_enabled", is_enabled}, {"variants", sql::nullable(variants)}},
      Error::conflict("flag_exists", "flag '" + name + "' already exists")));
}

std::optional<Flag> FlagStore::update(const std::string& name, const std::optional<std::string>& description,
                                      std::optional<bool> is_enabled, const std::optional<std::string>& variants) {
  return maybe(feed_.update_row(name, {{"description", sql::nullable(description)},
                                       {"is_enabled", sql::nullable(is_enabled)},
                                       {"variants", sql::nullable(variants)}}));
}

}  // namespace toggle::flags
