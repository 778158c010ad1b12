// Real PostgreSQL servers for the tests, started and stopped by tests/support/postgres.sh.
//
//   testsupport::ScratchDatabase db;            // a new, empty database on the shared test server
//   auto conn = toggle::sql::open_database(db.url(), "");
//
//   testsupport::PostgresServer own;            // a server of one's own (e.g. to stop and start it)
//   own.stop(); own.start();                    // same port, same data
//
// The shared server is the one the ctest fixture `postgres` started (its state directory is in
// TOGGLE_TEST_POSTGRES_STATE), or the server at TOGGLE_TEST_POSTGRES_URL (postgresql://user@host:port,
// without a database); a test binary run by hand, with neither set, starts one for itself on first
// use and removes it at exit.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>

#include "toggle/core/database.hpp"
#include "toggle/core/migrate.hpp"
#include "toggle/core/sql.hpp"

#ifndef TOGGLE_POSTGRES_SCRIPT
#error "TOGGLE_POSTGRES_SCRIPT must name tests/support/postgres.sh"
#endif

namespace testsupport {

namespace detail {

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline void run_script(const std::string& command, const std::string& state) {
  std::string line = std::string(TOGGLE_POSTGRES_SCRIPT) + " " + command + " " + shell_quote(state) + " >/dev/null";
  if (std::system(line.c_str()) != 0) throw std::runtime_error("tests/support/postgres.sh " + command + " failed");
}

inline std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace detail

// A PostgreSQL server of its own, for the lifetime of the object.
class PostgresServer {
 public:
  PostgresServer() {
    std::string pattern = (std::filesystem::temp_directory_path() / "togglemaster-pgstate-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    state_ = pattern;
    try {
      detail::run_script("init", state_);
    } catch (...) {
      std::filesystem::remove_all(state_);
      throw;
    }
    base_url_ = detail::read_first_line(state_ + "/url");
  }
  ~PostgresServer() {
    try {
      detail::run_script("destroy", state_);
    } catch (...) {
    }
    std::error_code ignored;
    std::filesystem::remove_all(state_, ignored);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  void stop() { detail::run_script("stop", state_); }    // fast shutdown: clients are disconnected
  void start() { detail::run_script("start", state_); }  // on the same port
  // postgresql://postgres@127.0.0.1:PORT
  const std::string& base_url() const { return base_url_; }
  std::string url(const std::string& database) const { return base_url_ + "/" + database; }

 private:
  std::string state_, base_url_;
};

// The base URL of the server shared by this test run (see the top of this file).
inline const std::string& shared_postgres_url() {
  static std::once_flag once;
  static std::string url;
  static std::unique_ptr<PostgresServer> own;
  std::call_once(once, [] {
    if (const char* given = std::getenv("TOGGLE_TEST_POSTGRES_URL"); given && *given) {
      url = given;
    } else if (const char* state = std::getenv("TOGGLE_TEST_POSTGRES_STATE"); state && *state) {
      url = detail::read_first_line(std::string(state) + "/url");
      if (url.empty()) throw std::runtime_error(std::string("no test PostgreSQL: ") + state + "/url is missing");
    } else {
      own = std::make_unique<PostgresServer>();
      url = own->base_url();
      std::atexit([] { own.reset(); });
    }
  });
  return url;
}

// Runs administrative statements (CREATE/DROP DATABASE) on `base_url`'s "postgres" database.
inline void admin_exec(const std::string& base_url, const std::string& statement) {
  toggle::sql::Options options;
  options.pool_size = 1;
  auto db = toggle::sql::open_postgres(base_url + "/postgres", options);
  db->exec(statement);
}

// A new, empty database for one test, with a unique name; dropped (with any connection still
// open to it) at destruction.
class ScratchDatabase {
 public:
  explicit ScratchDatabase(std::string base_url = shared_postgres_url()) : base_url_(std::move(base_url)) {
    static std::atomic<int> counter{0};
    std::random_device random;
    name_ =
        "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(random() % 100000);
    admin_exec(base_url_, "CREATE DATABASE " + name_);
  }
  ~ScratchDatabase() {
    try {
      admin_exec(base_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
  }
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string url() const { return base_url_ + "/" + name_; }

 private:
  std::string base_url_, name_;
};

}  // namespace testsupport
