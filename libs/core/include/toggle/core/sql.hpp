// The SQL interface the services' stores use (the interface only: the backends are sqlite.cpp and
// postgres.cpp, opened by database.hpp; schemas are applied by migrate.hpp). A Database hands out a
// Connection for one unit of work; statements use $1, $2, ... placeholders in both dialects, so a
// store writes its SQL once and only the schema (migrations) differs per dialect. Driver errors
// become toggle::Error of three kinds: conflict (a unique key), unavailable (retry later), internal.
//
// Two dialects: SQLite (one file, the default) and PostgreSQL (libpq, a pool of connections). Values come back as text in both. Timestamps are ISO-8601 UTC with milliseconds
// ("2026-11-25T13:31:05.111Z") in both: the stores write that text, SQLite keeps it as is, and the
// PostgreSQL driver formats TIMESTAMPTZ/TIMESTAMP columns (the seed's schemas) the same way when it
// reads them, so the stores need no per-dialect code for them.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include "toggle/core/error.hpp"

namespace toggle::sql {

using toggle::ErrorKind;

using Param = std::variant<std::nullptr_t, std::int64_t, double, std::string_view, bool>;
// A parameter that is NULL when the value is absent (the Param views the string: keep it alive).
inline Param nullable(const std::optional<std::string>& v) { return v ? Param(std::string_view(*v)) : Param(nullptr); }
inline Param nullable(std::optional<bool> v) { return v ? Param(*v) : Param(nullptr); }

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

// What a driver throws: ErrorKind::conflict (unique or primary-key violation, code "conflict"),
// ErrorKind::unavailable (the database cannot be reached or used now, code "storage_unavailable")
// or ErrorKind::internal (anything else: a bug in the SQL, code "internal"). what() is the
// driver's text, for the log; clients are told only what kind of failure it was.
class Error : public toggle::Error {
 public:
  Error(ErrorKind kind, const std::string& what)
      : toggle::Error(kind,
                      kind == ErrorKind::conflict      ? "conflict"
                      : kind == ErrorKind::unavailable ? "storage_unavailable"
                                                       : "internal",
                      what) {
    set_public_message(kind == ErrorKind::conflict      ? "already exists"
                       : kind == ErrorKind::unavailable ? "storage unavailable, retry later"
                                                        : "internal error");
  }
  // A deadlock or serialization failure (PostgreSQL 40P01, 40001): the transaction lost a race
  // with another one and is worth running again; if it keeps losing, the client is told 503.
  static Error transaction_conflict(const std::string& what) {
    Error e(ErrorKind::unavailable, what);
    e.transaction_conflict_ = true;
    return e;
  }
  bool transaction_conflict() const { return transaction_conflict_; }

 private:
  bool transaction_conflict_ = false;
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
  // A transaction that loses a deadlock or a serialization race is run again (at most
  // kTransactionAttempts times, after a short pause): `work` must do nothing but SQL.
  static constexpr int kTransactionAttempts = 5;
  template <class Work>
  auto transaction(Work&& work) {
    for (int attempt = 1;; ++attempt) {
      try {
        return transaction_once(work);
      } catch (const Error& e) {
        if (!e.transaction_conflict() || attempt == kTransactionAttempts) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 5));
      }
    }
  }

 protected:
  virtual std::string_view begin_statement() const { return "BEGIN"; }

 private:
  template <class Work>
  auto transaction_once(Work& work) {
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
};

struct Options {
  // PostgreSQL: connections held at most (DATABASE_POOL_SIZE), and how long acquire() waits for
  // one to be free before it throws Error{unavailable}.
  std::size_t pool_size = 8;
  std::chrono::milliseconds acquire_timeout{5000};
  // SQLite: every commit reaches the disk before it returns (synchronous=FULL), so what was
  // acknowledged survives a power loss. Off: synchronous=NORMAL (WAL), which may lose the last
  // commits on a power loss (never on a crash of the process) and writes much less.
  bool durable_commits = false;
};

}  // namespace toggle::sql
