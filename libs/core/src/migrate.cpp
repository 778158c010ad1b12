#include "toggle/core/migrate.hpp"

#include <chrono>
#include <string>
#include <thread>

#include "toggle/core/log.hpp"
#include "toggle/core/text.hpp"

namespace toggle::sql {

namespace {

// Held (per transaction) by every migration on PostgreSQL: replicas that start together apply
// their migrations one after the other instead of racing on CREATE TABLE.
constexpr std::int64_t kMigrationLock = 0x546f67676c654d67;  // "ToggleMg"

void lock_migrations(Connection& c) {
  if (c.dialect() == Dialect::postgres) c.exec("SELECT pg_advisory_xact_lock($1)", {kMigrationLock});
}

// schema_migrations records (component, version): several services may share one database (the
// seed's PostgreSQL deployments do). Files written before components existed have a version-only
// table, which belonged to the one service using the file: its rows are moved to `component`.
void ensure_migrations_table(Connection& c, const std::string& component) {
  if (c.dialect() == Dialect::postgres) {
    c.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (component VARCHAR(64) NOT NULL DEFAULT '', "
        "version INTEGER NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (component, version))");
    return;
  }
  bool exists = !c.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").rows.empty();
  bool has_component =
      exists && !c.exec("SELECT 1 FROM pragma_table_info('schema_migrations') WHERE name = 'component'").rows.empty();
  if (has_component) return;
  if (exists) c.exec("ALTER TABLE schema_migrations RENAME TO schema_migrations_v1");
  c.exec(
      "CREATE TABLE schema_migrations (component TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL, "
      "applied_at TEXT NOT NULL, PRIMARY KEY (component, version))");
  if (!exists) return;
  c.exec(
      "INSERT INTO schema_migrations (component, version, applied_at) "
      "SELECT $1, version, applied_at FROM schema_migrations_v1",
      {std::string_view(component)});
  c.exec("DROP TABLE schema_migrations_v1");
}

}  // namespace

void migrate(Database& db, const std::vector<Migration>& migrations, std::string_view component_view) {
  const std::string component(component_view);
  // A service and its database often start together (a fresh deployment, a node reboot): wait
  // for an unreachable database for a while, saying so, rather than exiting at once.
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (auto pause = std::chrono::milliseconds(250);; pause = std::min(pause * 2, std::chrono::milliseconds(5000))) {
    try {
      db.transaction([&](Connection& c) {
        lock_migrations(c);
        ensure_migrations_table(c, component);
      });
      break;
    } catch (const Error& e) {
      if (db.dialect() != Dialect::postgres || e.kind() != ErrorKind::unavailable ||
          std::chrono::steady_clock::now() + pause > give_up)
        throw;  // a SQLite file that cannot be opened will not fix itself
      log::warn("database unavailable at start, waiting for it", {{"component", component}, {"error", e.what()}});
      std::this_thread::sleep_for(pause);
    }
  }
  for (const auto& m : migrations) {
    db.transaction([&](Connection& c) {
      lock_migrations(c);
      if (!c.exec("SELECT 1 FROM schema_migrations WHERE component = $1 AND version = $2",
                  {std::string_view(component), std::int64_t{m.version}})
               .rows.empty())
        return;
      std::string_view script = c.dialect() == Dialect::sqlite ? m.sqlite : m.postgres;
      if (!script.empty()) c.script(script);
      std::string now = iso8601_now();
      c.exec("INSERT INTO schema_migrations (component, version, applied_at) VALUES ($1, $2, $3)",
             {std::string_view(component), std::int64_t{m.version}, now});
    });
  }
}

}  // namespace toggle::sql
