// Flags at rest. Every write advances the change version (see toggle/core/changelog.hpp) so that
// evaluation-service can follow changes; names are unique and immutable.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "toggle/core/changelog.hpp"
#include "toggle/core/sql.hpp"

namespace toggle::flags {

struct Flag {
  std::int64_t id = 0;
  std::string name;
  std::string description;
  bool is_enabled = false;
  std::string created_at, updated_at;
  std::int64_t version = 0;  // change version of the last write
};

struct FlagUpdate {
  std::optional<std::string> description;
  std::optional<bool> is_enabled;
};

struct FlagChanges {
  std::string epoch;
  std::int64_t version = 0;
  bool full = false;                 // `flags` is the whole set, not a delta
  std::vector<Flag> flags;           // created or updated after `since`
  std::vector<std::string> deleted;  // deleted after `since`
};

class FlagStore {
 public:
  explicit FlagStore(sql::Database& db);  // applies the migrations

  // Throws sql::Error{conflict} if the name exists.
  Flag create(const std::string& name, const std::string& description, bool is_enabled);
  std::optional<Flag> get(const std::string& name);
  std::vector<Flag> list();
  std::optional<Flag> update(const std::string& name, const FlagUpdate& update);
  // The change version of the delete, or nullopt if there was no such flag.
  std::optional<std::int64_t> remove(const std::string& name);
  // Changes after `since` in history `epoch`; the full set when since is 0 or the epoch differs.
  FlagChanges changes_since(std::int64_t since, const std::string& epoch);
  std::int64_t version();
  std::string epoch();
  bool ping() { return db_.ping(); }
  sql::Database& database() { return db_; }
  // The change log's tables and notification channel ("flag").
  static const changelog::Scope& changes_scope();

 private:
  sql::Database& db_;
};

}  // namespace toggle::flags
