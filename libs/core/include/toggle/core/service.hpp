// What every service's main() shares: common configuration, logging, the server with /health,
// /ready and /metrics, and the graceful shutdown on SIGTERM/SIGINT.
//
//   toggle::Service svc("flag-service", 8002);
//   auto url = svc.env().url("AUTH_SERVICE_URL", "http://localhost:8001");
//   ... build stores and routes on svc.router() ...
//   return svc.run();
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "toggle/core/config.hpp"
#include "toggle/core/router.hpp"
#include "toggle/core/server.hpp"
#include "toggle/core/sql.hpp"

namespace toggle {

class Service {
 public:
  // Reads PORT, HOST, DATA_DIR, LOG_LEVEL, SHUTDOWN_TIMEOUT_MS and HTTP_* from the environment.
  Service(std::string name, std::uint16_t default_port);
  ~Service();

  const std::string& name() const { return name_; }
  Env& env() { return env_; }
  Router& router() { return router_; }
  const std::string& data_dir() const { return data_dir_; }
  const ServerOptions& server_options() const { return options_; }

  // DATABASE_URL, checked: empty (SQLite under DATA_DIR) or a scheme sql::open_database() knows.
  std::string database_url();
  // For sql::open_database(): DATABASE_POOL_SIZE (PostgreSQL connections at most, default 8).
  sql::Options database_options();

  // Each check returns an empty string when its dependency answers, else what is wrong.
  void add_readiness_check(std::function<std::string()> check);
  // Runs when shutdown begins, after the listener closes and before in-flight requests are
  // awaited (e.g. answer long polls now).
  void on_drain(std::function<void()> fn);
  // Runs after the server has stopped, in reverse order of registration (e.g. flush events).
  void on_stop(std::function<void()> fn);

  // Validates the configuration (exits 2 if bad), serves until SIGTERM/SIGINT, shuts down.
  int run();

 private:
  std::string name_;
  Env env_;
  Router router_;
  ServerOptions options_;
  std::string data_dir_;
  std::chrono::milliseconds shutdown_timeout_{10000};
  std::vector<std::function<std::string()>> readiness_;
  std::vector<std::function<void()>> on_drain_, on_stop_;
};

// A readiness check that `base_url`/health answers 200 (for services this one calls).
std::function<std::string()> http_health_check(std::string name, std::string base_url);

// Runs a service's main body; an exception escaping it (e.g. the database cannot be opened) is
// logged as a JSON line and turns into exit status 1.
int guarded_main(const std::function<int()>& body);

}  // namespace toggle
