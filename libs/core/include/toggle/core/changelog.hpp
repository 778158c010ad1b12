// The change log behind a ChangeFeed, kept in the same database as the data it versions: one
// counter that every write advances, each row stamped with the version that last wrote it, and a
// tombstone per deleted name. "What changed after version V" is then two indexed queries.
//
// Each feed has its own tables (a Scope: "flag" -> flag_change_version, flag_tombstones), so that
// flags and rules may share one database, as some of the seed's PostgreSQL deployments do. On
// PostgreSQL every write also notifies the scope's channel with its version, delivered at commit,
// which ReplicaSync turns into ChangeFeed::publish() on every replica.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/core/sql.hpp"

namespace toggle {
class ChangeFeed;
}

namespace toggle::changelog {

struct Scope {
  explicit Scope(std::string name);  // e.g. "flag", "rule": [a-z_]+
  std::string name;
  std::string version_table;    // <name>_change_version: (id = 1, version, epoch)
  std::string tombstone_table;  // <name>_tombstones: (name, version)
  std::string channel;          // toggle_<name>_changes: NOTIFY channel (PostgreSQL)
};

// The scope's tables, to include in a service's first migration (PostgreSQL: IF NOT EXISTS, so a
// database that already has them is adopted).
std::string schema_postgres(const Scope& scope);
// SQLite files started with unscoped tables (change_version, tombstones; kLegacySchemaSqlite, in
// their first migration): this later migration renames them to the scope's, keeping the epoch.
extern const std::string_view kLegacySchemaSqlite;
std::string scope_legacy_tables_sqlite(const Scope& scope);

// Within a write transaction: the version this write commits (and, on PostgreSQL, its
// notification, sent at commit).
std::int64_t next_version(sql::Connection& c, const Scope& scope);
std::int64_t current_version(sql::Connection& c, const Scope& scope);
// Random id of this database's history: a reader that saw another epoch (the database was
// replaced) must resync in full, since version numbers restarted.
std::string epoch(sql::Connection& c, const Scope& scope);
void mark_deleted(sql::Connection& c, const Scope& scope, std::string_view name, std::int64_t version);
void mark_present(sql::Connection& c, const Scope& scope, std::string_view name);
std::vector<std::string> deleted_since(sql::Connection& c, const Scope& scope, std::int64_t since);

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
Changes read(sql::Database& db, const Scope& scope, std::int64_t since, const std::string& epoch,
             const std::string& select_all, const std::string& select_since);

// Runs `delete_sql` ($1 = name) and records the tombstone; the version, or nullopt if nothing
// was deleted.
std::optional<std::int64_t> remove(sql::Database& db, const Scope& scope, const std::string& delete_sql,
                                   const std::string& name);

std::int64_t current_version(sql::Database& db, const Scope& scope);
std::string epoch(sql::Database& db, const Scope& scope);

// Several replicas of a service on one PostgreSQL database: a write through any of them must wake
// the long polls parked at all of them. ReplicaSync listens on the scope's channel (a dedicated
// connection and thread, reconnecting with a backoff) and publishes each notified version to
// `feed`; after every (re)connection it publishes `current_version()`, which covers what was
// missed meanwhile. It also gives `feed` `current_version` as its version source, so a reader that
// got a newer version from another replica is parked here rather than answered in a loop.
class ReplicaSync {
 public:
  ReplicaSync(const std::string& database_url, const Scope& scope, ChangeFeed& feed,
              std::function<std::int64_t()> current_version);
  ~ReplicaSync();
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toggle::changelog
