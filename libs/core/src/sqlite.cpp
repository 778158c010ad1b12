// sql::Database on an SQLite file: the embedded default.
#include <sqlite3.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "toggle/core/database.hpp"

namespace toggle::sql {

namespace {

// One SQLite connection shared by the process, used by one thread at a time: SQLite serialises
// writers anyway, and a single connection keeps a per-statement cache warm.
class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(const std::string& path, bool durable_commits) {
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
    // WAL; synchronous=NORMAL is durable at checkpoints with one write per commit, FULL syncs
    // every commit (Options::durable_commits). A 64 MiB page cache and memory-mapped reads keep
    // index pages out of read() system calls.
    run_script(std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + (durable_commits ? "FULL" : "NORMAL") +
               "; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;");
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
    // A unit of work that ends inside a transaction (neither committed nor rolled back, e.g. its
    // ROLLBACK failed) must not hand it to the next: the database has this one connection, so its
    // writes would join the open transaction and every later BEGIN would fail.
    ~Conn() override {
      if (!sqlite3_get_autocommit(db_.db_)) sqlite3_exec(db_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
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
    throw Error(ErrorKind::internal, msg);
  }

  void run_script(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : "error";
      sqlite3_free(err);
      throw Error(ErrorKind::internal, msg);
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
      char name[24];
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

std::unique_ptr<Database> open_sqlite(const std::string& path, const Options& options) {
  return std::make_unique<SqliteDatabase>(path, options.durable_commits);
}

}  // namespace toggle::sql
