// The change log behind a ChangeFeed, kept in the same database as the data it versions: one
// counter that every write advances, each row stamped with the version that last wrote it, and a
// tombstone per deleted name. "What changed after version V" is then two indexed queries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/core/sql.hpp"

namespace toggle::changelog {

// Schema of the counter and the tombstones, to include in a service's first migration.
extern const std::string_view kSchemaSqlite;
extern const std::string_view kSchemaPostgres;

// Within a write transaction: the version this write commits.
std::int64_t next_version(sql::Connection& c);
std::int64_t current_version(sql::Connection& c);
// Random id of this database's history: a reader that saw another epoch (the database was
// replaced) must resync in full, since version numbers restarted.
std::string epoch(sql::Connection& c);
void mark_deleted(sql::Connection& c, std::string_view name, std::int64_t version);
void mark_present(sql::Connection& c, std::string_view name);
std::vector<std::string> deleted_since(sql::Connection& c, std::int64_t since);

// What a reader that saw version `since` of history `epoch` needs, read in one transaction: the
// rows of `select_all` (when it must resync in full) or of `select_since` ($1 = since), and the
// names deleted since.
struct Changes {
  std::string epoch;
  std::int64_t version = 0;
  bool full = false;
  std::vector<sql::Row> rows;
  std::vector<std::string> deleted;
};
Changes read(sql::Database& db, std::int64_t since, const std::string& epoch, const std::string& select_all,
             const std::string& select_since);

// Runs `delete_sql` ($1 = name) and records the tombstone; the version, or nullopt if nothing
// was deleted.
std::optional<std::int64_t> remove(sql::Database& db, const std::string& delete_sql, const std::string& name);

std::int64_t current_version(sql::Database& db);
std::string epoch(sql::Database& db);

}  // namespace toggle::changelog
