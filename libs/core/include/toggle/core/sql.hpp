// SQL access shared by the services' stores. A Database hands out a Connection for one unit of work;
// statements use $1, $2, ... placeholders in both dialects, so a store writes its SQL once and only
// the schema (migrations) differs per dialect. Driver errors are mapped to three kinds.
#pragma once

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

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Result exec(std::string_view sql, std::initializer_list<Param> params = {}) = 0;
  virtual Result exec(std::string_view sql, const std::vector<Param>& params) = 0;
  // Several statements without parameters (migrations).
  virtual void script(std::string_view sql) = 0;
};

enum class Dialect { sqlite, postgres };

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // A connection for one unit of work, returned to the database when the pointer is destroyed.
  virtual std::unique_ptr<Connection> acquire() = 0;
  // True when the database answers a trivial query.
  virtual bool ping() = 0;

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

// Opens (creating it and its folder if needed) an SQLite database file in WAL mode.
std::unique_ptr<Database> open_sqlite(const std::string& path);
// The service's database: `url` from DATABASE_URL ("sqlite:PATH", or empty for `default_sqlite_path`).
std::unique_ptr<Database> open_database(const std::string& url, const std::string& default_sqlite_path);
// Whether open_database() understands `url` (checked with the rest of the configuration).
bool is_supported_database_url(const std::string& url);

struct Migration {
  int version;
  std::string_view sqlite;
  std::string_view postgres;
};
// Applies, in order and once each, the migrations not yet recorded in schema_migrations.
void migrate(Database& db, const std::vector<Migration>& migrations);

}  // namespace toggle::sql
