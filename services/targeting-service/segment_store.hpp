// Segments at rest, one per name, in a FeedStore (ItemStore) of their own: every write is
// versioned and published to GET /segments/changes, which evaluation-service follows.
// `conditions` is the canonical JSON text of the conditions of a segment that passed
// toggle::rules::parse_segment.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "toggle/core/collection.hpp"

namespace toggle::targeting {

struct SegmentRecord {
  std::int64_t id = 0;
  std::string name;
  std::string conditions;  // JSON text: an array
  std::string created_at, updated_at;
  std::int64_t version = 0;
};

// The segment as the API and the change feed send it: {"id","name","conditions","created_at",
// "updated_at"}.
nlohmann::json to_json(const SegmentRecord& segment);

class SegmentStore : public ItemStore<SegmentRecord> {
 public:
  SegmentStore(sql::Database& db, const std::string& database_url);  // applies the migrations

  // Throws Error{conflict, "segment_exists"} if the name is taken.
  SegmentRecord create(const std::string& name, const std::string& conditions);
  // nullopt if there is no such segment.
  std::optional<SegmentRecord> update(const std::string& name, const std::string& conditions);
  std::size_t count();
};

}  // namespace toggle::targeting
