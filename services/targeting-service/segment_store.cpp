#include "segment_store.hpp"

#include "rule_store.hpp"
#include "toggle/core/json.hpp"

namespace toggle::targeting {
namespace {

constexpr const char* kSqliteColumns = "name TEXT NOT NULL UNIQUE, conditions TEXT NOT NULL";
constexpr const char* kPostgresColumns = "name VARCHAR(100) UNIQUE NOT NULL, conditions JSONB NOT NULL";

constexpr const char* kColumns = "id, name, conditions, created_at, updated_at, version";

SegmentRecord from_row(const sql::Row& r) {
  return {r.integer(0), r.text(1), canonical_json(r.text(2)), r.text(3), r.text(4), r.integer(5)};
}

}  // namespace

json to_json(const SegmentRecord& s) {
  return {{"id", s.id},
          {"name", s.name},
          {"conditions", json::parse(s.conditions, nullptr, false)},
          {"created_at", s.created_at},
          {"updated_at", s.updated_at}};
}

// Its own component and change-log scope: the segments' migrations and feed are independent of
// the rules' in the same database.
SegmentStore::SegmentStore(sql::Database& db, const std::string& database_url)
    : ItemStore(db, database_url,
                {"targeting-service-segments", kSqliteColumns, kPostgresColumns, "segment", "segments", "name", kColumns,
                 "segments"},
                from_row, to_json) {}

SegmentRecord SegmentStore::create(const std::string& name, const std::string& conditions) {
  return item(feed_.insert_row(
      name, {{"name", name}, {"conditions", conditions}},
      Error::conflict("segment_exists", "segment '" + name + "' already exists; change it with PUT /segments/" + name)));
}

std::optional<SegmentRecord> SegmentStore::update(const std::string& name, const std::string& conditions) {
  return maybe(feed_.update_row(name, {{"conditions", conditions}}));
}

std::size_t SegmentStore::count() {
  return static_cast<std::size_t>(feed_.database().exec("SELECT COUNT(*) FROM segments").rows.at(0).integer(0));
}

}  // namespace toggle::targeting
