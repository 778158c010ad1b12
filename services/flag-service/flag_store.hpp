// Flags at rest, in a FeedStore (ItemStore): every write is versioned and published to the change feed that
// evaluation-service follows. Names are unique and immutable.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "toggle/core/collection.hpp"

namespace toggle::flags {

struct Flag {
  std::int64_t id = 0;
  std::string name;
  std::string description;
  bool is_enabled = false;
  std::string created_at, updated_at;
  std::int64_t version = 0;  // change version of the last write
};

// The flag as the API and the change feed send it: {"id","name","description","is_enabled",
// "created_at","updated_at"}.
nlohmann::json to_json(const Flag& flag);

class FlagStore : public ItemStore<Flag> {
 public:
  FlagStore(sql::Database& db, const std::string& database_url);  // applies the migrations

  // Throws Error{conflict, "flag_exists"} if the name exists.
  Flag create(const std::string& name, const std::string& description, bool is_enabled);
  // A partial update: what is nullopt is left as it is. nullopt if there is no such flag.
  std::optional<Flag> update(const std::string& name, const std::optional<std::string>& description,
                             std::optional<bool> is_enabled);
};

}  // namespace toggle::flags
