// sql::Database on PostgreSQL through libpq: a pool of connections, each used by one unit of work
// at a time; statements run with PQexecParams in text format, so the stores' $n SQL runs as
// written. A connection that broke (a restart, a network failure) is replaced on the next
// acquire(); meanwhile the error is ErrorKind::unavailable, which the server answers with 503.
#include "toggle/core/postgres.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "toggle/core/log.hpp"
#include "toggle/core/database.hpp"
#include "toggle/core/text.hpp"

namespace toggle::sql {
namespace {

// Types whose text we rewrite (pg_type OIDs, fixed since PostgreSQL 7).
constexpr Oid kBoolOid = 16, kInt8Oid = 20, kFloat8Oid = 701, kTimestampOid = 1114, kTimestamptzOid = 1184;

// Opens a connection to `url`. Defaults first, the URL last: what the URL says wins (libpq keeps
// the last value of a repeated keyword). Keepalives and a TCP user timeout make a dead server or
// network noticed in seconds rather than the kernel's minutes.
PGconn* connect_raw(const std::string& url) {
  const char* keys[] = {"connect_timeout",           "keepalives",       "keepalives_idle",
                        "keepalives_interval",       "keepalives_count", "tcp_user_timeout",
                        "fallback_application_name", "dbname",           nullptr};
  const char* values[] = {"5", "1", "10", "5", "3", "15000", "togglemaster", url.c_str(), nullptr};
  return PQconnectdbParams(keys, values, /*expand_dbname=*/1);
}

std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// The server's notices ("relation ... already exists, skipping" from the migrations' IF NOT
// EXISTS) go to the JSON log at debug level, not to stderr as libpq would print them.
void log_notice(void*, const char* message) { log::debug("database notice", {{"notice", trimmed(message)}}); }

// A connection ready for the stores: times in UTC and printed in ISO style, whatever the server's
// defaults (iso8601_from_pg relies on both).
PGconn* connect(const std::string& url) {
  PGconn* c = connect_raw(url);
  if (!c) throw Error(ErrorKind::unavailable, "cannot connect to PostgreSQL: out of memory");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = trimmed(PQerrorMessage(c));
    PQfinish(c);
    throw Error(ErrorKind::unavailable, "cannot connect to PostgreSQL: " + msg);
  }
  PQsetNoticeProcessor(c, log_notice, nullptr);
  PGresult* r = PQexec(c, "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'");
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  std::string msg = ok ? "" : trimmed(PQresultErrorMessage(r));
  PQclear(r);
  if (!ok) {
    PQfinish(c);
    throw Error(ErrorKind::unavailable, "cannot set up the PostgreSQL session: " + msg);
  }
  return c;
}

// SQLSTATE and connection state to an error kind: unique violations are conflicts; a connection
// that is gone, a server shutting down or out of resources is "unavailable" (retry later).
ErrorKind classify(const char* sqlstate, bool connection_bad) {
  if (connection_bad) return ErrorKind::unavailable;
  if (!sqlstate) return ErrorKind::internal;
  std::string_view s(sqlstate);
  if (s == "23505") return ErrorKind::conflict;
  if (s.substr(0, 2) == "08" || s.substr(0, 2) == "53" || s == "57P01" || s == "57P02" || s == "57P03")
    return ErrorKind::unavailable;
  return ErrorKind::internal;
}

// "2026-11-25 13:31:05.111234+00" (ISO DateStyle) to "2026-11-25T13:31:05.111Z": UTC, milliseconds
// (truncated), as toggle::iso8601() writes them. TIMESTAMP without a zone is taken as UTC. Values
// it does not recognise (infinity, BC dates) are returned unchanged.
std::string iso8601_from_pg(const char* text, int length) {
  std::string_view s(text, static_cast<std::size_t>(length));
  auto t = parse_timestamp(s, /*postgres=*/true);
  return t ? iso8601(*t) : std::string(s);
}

class PostgresDatabase final : public Database {
 public:
  PostgresDatabase(std::string url, const Options& options)
      : url_(std::move(url)),
        pool_size_(std::max<std::size_t>(options.pool_size, 1)),
        acquire_timeout_(options.acquire_timeout) {}

  ~PostgresDatabase() override {
    // Every Connection has been destroyed (returned) by now: they hold a reference to this.
    for (PGconn* c : idle_) PQfinish(c);
  }

  Dialect dialect() const override { return Dialect::postgres; }

  std::unique_ptr<Connection> acquire() override {
    PGconn* c = nullptr;
    {
      std::unique_lock lock(mutex_);
      if (!free_.wait_for(lock, acquire_timeout_, [&] { return !idle_.empty() || open_ < pool_size_; }))
        throw Error(ErrorKind::unavailable, "no free database connection after " +
                                                std::to_string(acquire_timeout_.count()) +
                                                " ms (DATABASE_POOL_SIZE=" + std::to_string(pool_size_) + ")");
      if (!idle_.empty()) {
        c = idle_.back();
        idle_.pop_back();
      } else {
        ++open_;  // reserved: opened below, outside the lock
      }
    }
    try {
      if (c && !looks_healthy(c)) {
        // Broken while idle (e.g. the server restarted): open a fresh one in its place.
        PQfinish(c);
        c = nullptr;
      }
      if (!c) c = connect(url_);
    } catch (...) {
      discard(nullptr);
      throw;
    }
    return std::make_unique<Conn>(*this, c);
  }

 private:
  class Conn final : public Connection {
   public:
    Conn(PostgresDatabase& db, PGconn* c) : db_(db), c_(c) {}
    ~Conn() override { db_.release(c_); }
    Dialect dialect() const override { return Dialect::postgres; }
    Result exec(std::string_view sql, std::initializer_list<Param> params) override {
      return run(sql, params.begin(), params.size());
    }
    Result exec(std::string_view sql, const std::vector<Param>& params) override {
      return run(sql, params.data(), params.size());
    }
    void script(std::string_view sql) override { check(PQexec(c_, std::string(sql).c_str())); }

   private:
    Result run(std::string_view sql, const Param* params, std::size_t count) {
      // Text format: every value as a NUL-terminated string, typed where the C++ type says so
      // (so "$1 + 1" works with an integer) and left for the server to infer otherwise (text,
      // JSONB, TIMESTAMPTZ all take a string).
      std::vector<std::string> storage(count);
      std::vector<const char*> values(count, nullptr);
      std::vector<Oid> types(count, 0);
      for (std::size_t i = 0; i < count; ++i) {
        std::visit(
            [&](const auto& v) {
              using T = std::decay_t<decltype(v)>;
              if constexpr (std::is_same_v<T, std::nullptr_t>) {
                return;
              } else if constexpr (std::is_same_v<T, std::int64_t>) {
                storage[i] = std::to_string(v);
                types[i] = kInt8Oid;
              } else if constexpr (std::is_same_v<T, double>) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%.17g", v);
                storage[i] = buf;
                types[i] = kFloat8Oid;
              } else if constexpr (std::is_same_v<T, bool>) {
                storage[i] = v ? "true" : "false";
                types[i] = kBoolOid;
              } else {
                if (std::memchr(v.data(), '\0', v.size()))
                  throw Error(ErrorKind::internal, "a text value contains a NUL character, which PostgreSQL cannot store");
                storage[i].assign(v.data(), v.size());
              }
              values[i] = storage[i].c_str();
            },
            params[i]);
      }
      PGresult* r = PQexecParams(c_, std::string(sql).c_str(), static_cast<int>(count), types.data(), values.data(),
                                 nullptr, nullptr, 0);
      return check(r);
    }

    // The rows of a successful result, or the error as an sql::Error; `r` is freed either way.
    Result check(PGresult* r) {
      ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
      if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
        const char* sqlstate = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
        ErrorKind kind = classify(sqlstate, PQstatus(c_) != CONNECTION_OK);
        bool lost_race = sqlstate && (std::string_view(sqlstate) == "40P01" || std::string_view(sqlstate) == "40001");
        std::string msg = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(c_));
        if (msg.empty()) msg = trimmed(PQerrorMessage(c_));
        if (msg.empty()) msg = "PostgreSQL error";
        PQclear(r);
        if (lost_race) throw Error::transaction_conflict(msg);
        throw Error(kind, msg);
      }
      Result result;
      int rows = PQntuples(r), columns = PQnfields(r);
      std::vector<bool> timestamp(static_cast<std::size_t>(columns));
      for (int col = 0; col < columns; ++col) {
        Oid type = PQftype(r, col);
        timestamp[col] = type == kTimestamptzOid || type == kTimestampOid;
      }
      result.rows.reserve(static_cast<std::size_t>(rows));
      for (int row = 0; row < rows; ++row) {
        Row out;
        out.values.reserve(static_cast<std::size_t>(columns));
        for (int col = 0; col < columns; ++col) {
          if (PQgetisnull(r, row, col)) {
            out.values.emplace_back();
            continue;
          }
          const char* value = PQgetvalue(r, row, col);
          int length = PQgetlength(r, row, col);
          if (timestamp[col])
            out.values.emplace_back(iso8601_from_pg(value, length));
          else
            out.values.emplace_back(std::string(value, static_cast<std::size_t>(length)));
        }
        result.rows.push_back(std::move(out));
      }
      const char* affected = PQcmdTuples(r);
      if (affected && *affected) result.affected = std::strtoll(affected, nullptr, 10);
      PQclear(r);
      return result;
    }

    PostgresDatabase& db_;
    PGconn* c_;
  };

  // An idle connection should have nothing to read: anything there is the server saying goodbye
  // (the FATAL of a shutdown or of pg_terminate_backend) or the end of the stream.
  static bool looks_healthy(PGconn* c) {
    if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) return false;
    pollfd p{PQsocket(c), POLLIN, 0};
    if (p.fd < 0) return false;
    return ::poll(&p, 1, 0) == 0;
  }

  // Back to the pool; a connection left broken or in an unknown state is closed instead.
  void release(PGconn* c) {
    bool reusable = PQstatus(c) == CONNECTION_OK;
    if (reusable) {
      PGTransactionStatusType t = PQtransactionStatus(c);
      if (t == PQTRANS_INTRANS || t == PQTRANS_INERROR) {
        // A unit of work that began a transaction and did not end it.
        PGresult* r = PQexec(c, "ROLLBACK");
        reusable = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
      } else if (t != PQTRANS_IDLE) {
        reusable = false;
      }
    }
    if (!reusable) {
      discard(c);
      return;
    }
    {
      std::lock_guard lock(mutex_);
      idle_.push_back(c);
    }
    free_.notify_one();
  }

  // Closes `c` (if any) and frees its place in the pool.
  void discard(PGconn* c) {
    if (c) PQfinish(c);
    {
      std::lock_guard lock(mutex_);
      --open_;
    }
    free_.notify_one();
  }

  const std::string url_;
  const std::size_t pool_size_;
  const std::chrono::milliseconds acquire_timeout_;
  std::mutex mutex_;
  std::condition_variable free_;
  std::vector<PGconn*> idle_;
  std::size_t open_ = 0;  // idle + in use + being opened
};

}  // namespace

std::unique_ptr<Database> open_postgres(const std::string& url, const Options& options) {
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (!parsed) {
    std::string msg = trimmed(error ? error : "out of memory");
    PQfreemem(error);
    throw Error(ErrorKind::internal, "invalid PostgreSQL URL: " + msg);
  }
  PQconninfoFree(parsed);
  return std::make_unique<PostgresDatabase>(url, options);
}

// ---------------------------------------------------------------------------------------------
// Listener

Listener::Listener(std::string url, std::string channel, Handlers handlers)
    : url_(std::move(url)), channel_(std::move(channel)), handlers_(std::move(handlers)) {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
  thread_ = std::thread([this] { run(); });
}

Listener::~Listener() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto ignored = ::write(wake_fd_, &one, sizeof one);
  cv_.notify_all();
  thread_.join();
  ::close(wake_fd_);
}

void Listener::run() {
  auto backoff = std::chrono::milliseconds(100);
  bool reported = false;  // the current outage was logged
  while (!stopping_) {
    PGconn* c = nullptr;
    std::string problem;
    try {
      c = connect(url_);
      std::string listen = "LISTEN \"" + channel_ + "\"";
      PGresult* r = PQexec(c, listen.c_str());
      bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      if (!ok) problem = trimmed(PQresultErrorMessage(r));
      PQclear(r);
      if (ok) {
        connected_ = true;
        ++connections_;
        if (reported) log::info("database notifications resumed", {{"channel", channel_}});
        reported = false;
        if (handlers_.on_connected) handlers_.on_connected();
        backoff = std::chrono::milliseconds(100);
        // Wait for notifications; every 30 s of silence, check the connection with a query.
        auto last_check = std::chrono::steady_clock::now();
        while (!stopping_) {
          pollfd fds[2] = {{PQsocket(c), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
          int n = ::poll(fds, 2, 1000);
          if (stopping_) break;
          if (n < 0 && errno != EINTR) {
            problem = std::string("poll: ") + std::strerror(errno);
            break;
          }
          if (n > 0 && fds[0].revents) {
            if (!PQconsumeInput(c)) {
              problem = trimmed(PQerrorMessage(c));
              break;
            }
            last_check = std::chrono::steady_clock::now();
          } else if (std::chrono::steady_clock::now() - last_check > std::chrono::seconds(30)) {
            PGresult* check = PQexec(c, "SELECT 1");
            bool alive = PQresultStatus(check) == PGRES_TUPLES_OK;
            PQclear(check);
            if (!alive) {
              problem = trimmed(PQerrorMessage(c));
              break;
            }
            last_check = std::chrono::steady_clock::now();
          }
          while (PGnotify* note = PQnotifies(c)) {
            std::string payload = note->extra ? note->extra : "";
            PQfreemem(note);
            try {
              if (handlers_.on_notify) handlers_.on_notify(payload);
            } catch (const std::exception& e) {
              log::warn("database notification handler failed", {{"channel", channel_}, {"error", e.what()}});
            }
          }
          if (PQstatus(c) != CONNECTION_OK) {
            problem = trimmed(PQerrorMessage(c));
            break;
          }
        }
      }
    } catch (const std::exception& e) {
      problem = e.what();
    }
    connected_ = false;
    if (c) PQfinish(c);
    if (stopping_) break;
    if (!reported) {
      log::warn("database notifications interrupted; reconnecting",
                {{"channel", channel_}, {"error", problem.empty() ? "connection lost" : problem}});
      reported = true;
    }
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, backoff, [this] { return stopping_.load(); });
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

}  // namespace toggle::sql
