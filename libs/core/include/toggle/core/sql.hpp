// SQL access shared by the services' stores. A Database hands out a Connection for one unit of work;
// statements use $1, $2, ... placeholders in both dialects, so a store writes its SQL once and only
// the schema (migrations) differs per dialect. Driver errors are mapped to three kinds.
//
// Two dialects: SQLite (one file, the default) and PostgreSQL (libpq, a pool of connections; see
// postgres.cpp). Values come back as text in both. Timestamps are ISO-8601 UTC with milliseconds
// ("2026-11-25T13:31:05.111Z") in both: the stores write that text, SQLite keeps it as is, and the
// PostgreSQL driver formats TIMESTAMPTZ/TIMESTAMP columns (the seed's schemas) the same way when it
// reads them, so the stores need no per-dialect code for them.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace toggle::sql {

using Param = std::variant<std::nullptr_t, std::int64_t, double, std::string_view, bool>;

struct Row {
  std::vector<std::optional<std::string>> values;
  bool is_null(std::size_t i) const { return !values.at(i); }
  const std::string& text(std::size_t i) const;  // "" for NULL
  std::int64_t integer(std::size_t i) const;
  bool boolean(std::size_t i) const;  // 1/0 (SQLite) or t/f (PostgreSQL)
};

struct Result {
  std::vector<Row> rows;
  std::int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE
};

enum class ErrorKind {
  conflict,     // unique or primary-key violation
  unavailable,  // the database cannot be reached or used now (retry later: 503)
  other,
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

enum class Dialect { sqlite, postgres };

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  virtual Result exec(std::string_view sql, std::initializer_list<Param> params = {}) = 0;
  virtual Result exec(std::string_view sql, const std::vector<Param>& params) = 0;
  // Several statements without parameters (migrations).
  virtual void script(std::string_view sql) = 0;
};

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // A connection for one unit of work, returned to the database when the pointer is destroyed.
  virtual std::unique_ptr<Connection> acquire() = 0;
  // True when the database answers a trivial query.
  bool ping();

  Result exec(std::string_view sql, std::initializer_list<Param> params = {}) { return acquire()->exec(sql, params); }

  // Runs `work(Connection&)` in a transaction: committed if it returns, rolled back if it throws.
  template <class Work>
  auto transaction(Work&& work) {
    auto conn = acquire();
    conn->exec(begin_statement());
    try {
      if constexpr (std::is_void_v<decltype(work(*conn))>) {
        work(*conn);
        conn->exec("COMMIT");
      } else {
        auto result = work(*conn);
        conn->exec("COMMIT");
        return result;
      }
    } catch (...) {
      try {
        conn->exec("ROLLBACK");
      } catch (...) {
      }
      throw;
    }
  }

 protected:
  virtual std::string_view begin_statement() const { return "BEGIN"; }
};

struct Options {
  // PostgreSQL: connections held at most (DATABASE_POOL_SIZE), and how long acquire() waits for
  // one to be free before it throws Error{unavailable}.
  std::size_t pool_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
};

// Opens (creating it and its folder if needed) an SQLite database file in WAL mode.
std::unique_ptr<Database> open_sqlite(const std::string& path);
// A pool of PostgreSQL connections to `url` (postgres://user:pass@host:port/db?sslmode=...),
// opened on demand; a broken connection is replaced on the next acquire().
std::unique_ptr<Database> open_postgres(const std::string& url, const Options& options = {});
// The service's database: `url` from DATABASE_URL ("sqlite:PATH", "postgres://..." or
// "postgresql://...", or empty for `default_sqlite_path`).
std::unique_ptr<Database> open_database(const std::string& url, const std::string& default_sqlite_path,
                                        const Options& options = {});
// Whether open_database() understands `url` (checked with the rest of the configuration).
bool is_supported_database_url(const std::string& url);
bool is_postgres_url(const std::string& url);

struct Migration {
  int version;
  std::string_view sqlite;
  std::string_view postgres;
};
// Applies, in order and once each, the migrations of `component` (e.g. "flag-service") not yet
// recorded in schema_migrations; several components may share one database. Each migration runs in
// its own transaction, which on PostgreSQL first takes an advisory lock, so that replicas starting
// together apply each migration once and wait for each other.
void migrate(Database& db, const std::vector<Migration>& migrations, std::string_view component = "");

}  // namespace toggle::sql
