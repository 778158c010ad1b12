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
  // The variant part as canonical JSON text (toggle::rules::to_json(FlagVariants)); nullopt for a
  // flag without one, i.e. today's implicit boolean flag.
  std::optional<std::string> variants;
};

// The flag as the API and the change feed send it: {"id","name","description","is_enabled",
// "created_at","updated_at"}, plus the variant part's "type", "variants", "default_variant" and
// "off_variant" when it has one (without, a flag answers exactly as before variants existed).
nlohmann::json to_json(const Flag& flag);

class FlagStore : public ItemStore<Flag> {
 public:
  FlagStore(sql::Database& db, const std::string& database_url);  // applies the migrations

  // Throws Error{conflict, "flag_exists"} if the name exists. `variants`: canonical JSON text.
  Flag create(const std::string& name, const std::string& description, bool is_enabled,
              const std::optional<std::string>& variants = std::nullopt);
  // A partial update: what is nullopt is left as it is. nullopt if there is no such flag.
  std::optional<Flag> update(const std::string& name, const std::optional<std::string>& description,
                             std::optional<bool> is_enabled,
                             const std::optional<std::string>& variants = std::nullopt);
};

}  // namespace toggle::flags
