#include "toggle/core/sql.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "toggle/core/log.hpp"
#include "toggle/core/text.hpp"

namespace toggle::sql {

bool Database::ping() {
  try {
    acquire()->exec("SELECT 1");
    return true;
  } catch (const Error&) {
    return false;
  }
}

const std::string& Row::text(std::size_t i) const {
  static const std::string empty;
  const auto& v = values.at(i);
  return v ? *v : empty;
}

std::int64_t Row::integer(std::size_t i) const { return values.at(i) ? std::stoll(*values[i]) : 0; }

bool Row::boolean(std::size_t i) const {
  const auto& v = values.at(i);
  return v && (*v == "1" || *v == "t" || *v == "true");
}

namespace {

// One SQLite connection shared by the process, used by one thread at a time: SQLite serialises
// writers anyway, and a single connection keeps a per-statement cache warm.
class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(const std::string& path) {
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    int rc =
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw Error(ErrorKind::unavailable, "cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    // WAL with synchronous=NORMAL: durable at checkpoints, one write per commit. A 64 MiB page
    // cache and memory-mapped reads keep index pages out of read() system calls.
    run_script(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
        "PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;");
  }
  ~SqliteDatabase() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  Dialect dialect() const override { return Dialect::sqlite; }

  std::unique_ptr<Connection> acquire() override { return std::make_unique<Conn>(*this); }

 protected:
  std::string_view begin_statement() const override { return "BEGIN IMMEDIATE"; }

 private:
  class Conn final : public Connection {
   public:
    explicit Conn(SqliteDatabase& db) : db_(db), lock_(db.mutex_) {}
    Dialect dialect() const override { return Dialect::sqlite; }
    Result exec(std::string_view sql, std::initializer_list<Param> params) override {
      return db_.run(sql, params.begin(), params.size());
    }
    Result exec(std::string_view sql, const std::vector<Param>& params) override {
      return db_.run(sql, params.data(), params.size());
    }
    void script(std::string_view sql) override { db_.run_script(std::string(sql)); }

   private:
    SqliteDatabase& db_;
    std::unique_lock<std::mutex> lock_;
  };

  [[noreturn]] void fail(int rc) const {
    int ext = sqlite3_extended_errcode(db_);
    std::string msg = sqlite3_errmsg(db_);
    if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY) throw Error(ErrorKind::conflict, msg);
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_IOERR || primary == SQLITE_FULL ||
        primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY || primary == SQLITE_NOMEM)
      throw Error(ErrorKind::unavailable, msg);
    throw Error(ErrorKind::other, msg);
  }

  void run_script(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : "error";
      sqlite3_free(err);
      throw Error(ErrorKind::other, msg);
    }
  }

  sqlite3_stmt* prepare(std::string_view sql) {
    auto it = statements_.find(std::string(sql));
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) fail(rc);
    statements_.emplace(std::string(sql), stmt);
    return stmt;
  }

  Result run(std::string_view sql, const Param* params, std::size_t count) {
    sqlite3_stmt* stmt = prepare(sql);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    for (std::size_t i = 0; i < count; ++i) {
      // SQLite numbers "$n" parameters by first appearance, not by n: look the index up by name.
      char name[16];
      std::snprintf(name, sizeof name, "$%zu", i + 1);
      int idx = sqlite3_bind_parameter_index(stmt, name);
      if (idx == 0) continue;
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>)
              sqlite3_bind_null(stmt, idx);
            else if constexpr (std::is_same_v<T, std::int64_t>)
              sqlite3_bind_int64(stmt, idx, v);
            else if constexpr (std::is_same_v<T, double>)
              sqlite3_bind_double(stmt, idx, v);
            else if constexpr (std::is_same_v<T, bool>)
              sqlite3_bind_int(stmt, idx, v ? 1 : 0);
            else
              sqlite3_bind_text(stmt, idx, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
          },
          params[i]);
    }
    Result result;
    int columns = sqlite3_column_count(stmt);
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        sqlite3_reset(stmt);
        fail(rc);
      }
      Row row;
      row.values.reserve(columns);
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.values.emplace_back();
        } else {
          auto text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          row.values.emplace_back(std::string(text, sqlite3_column_bytes(stmt, c)));
        }
      }
      result.rows.push_back(std::move(row));
    }
    result.affected = sqlite3_changes(db_);
    sqlite3_reset(stmt);
    return result;
  }

  sqlite3* db_ = nullptr;
  std::mutex mutex_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

std::unique_ptr<Database> open_sqlite(const std::string& path) { return std::make_unique<SqliteDatabase>(path); }

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

bool is_supported_database_url(const std::string& url) {
  return url.empty() || url.rfind("sqlite:", 0) == 0 || is_postgres_url(url);
}

std::unique_ptr<Database> open_database(const std::string& url, const std::string& default_sqlite_path,
                                        const Options& options) {
  if (url.empty()) return open_sqlite(default_sqlite_path);
  if (url.rfind("sqlite:", 0) == 0) return open_sqlite(url.substr(7));
  if (is_postgres_url(url)) return open_postgres(url, options);
  throw Error(ErrorKind::other, "unsupported DATABASE_URL scheme (use sqlite:PATH or postgres://...)");
}

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
