// The process around a service's App (app.hpp): the settings every service reads from the
// environment, logging, the HTTP server, and the graceful shutdown on SIGTERM/SIGINT.
//
//   int main() { return toggle::service_main<toggle::flags::FlagService>("flag-service", 8002); }
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "toggle/core/app.hpp"
#include "toggle/core/config.hpp"
#include "toggle/core/server.hpp"
#include "toggle/core/sql.hpp"

namespace toggle {

// PORT, HOST, DATA_DIR, LOG_LEVEL, SHUTDOWN_TIMEOUT_MS and HTTP_*.
struct ServiceSettings {
  std::string name;
  ServerOptions server;
  std::string data_dir = "./data";
  std::chrono::milliseconds shutdown_timeout{10000};

  static ServiceSettings from_env(Env& env, std::string name, std::uint16_t default_port);
};

// DATABASE_URL (empty: SQLite at DATA_DIR/<default_file>) and DATABASE_POOL_SIZE, checked.
struct DatabaseSettings {
  std::string url;
  std::string default_path;
  sql::Options options;

  static DatabaseSettings from_env(Env& env, const ServiceSettings& service, const std::string& default_file);
  std::unique_ptr<sql::Database> open() const;
};

// The settings of the services that sit behind auth-service.
std::string auth_service_url(Env& env);  // AUTH_SERVICE_URL
std::string service_api_key(Env& env);   // SERVICE_API_KEY (a warning when it is the development default)

// What flag-, targeting- and analytics-service read alike: where keys are checked, the service
// key, and their database.
struct BackendSettings {
  std::string auth_url, service_key;
  DatabaseSettings database;
  static BackendSettings from_env(Env& env, const ServiceSettings& service, const std::string& default_file);
};

// A readiness check that `base_url`/health answers 200 (for services this one calls).
std::function<std::string()> http_health_check(std::string name, std::string base_url);

// Reads the common settings, asks `configure` for the service's own (it returns the builder of
// the App); exits 2 naming every bad variable; builds the App (exit 1 if that throws, e.g. a
// database that cannot be opened); serves until SIGTERM/SIGINT; shuts down gracefully.
using AppBuilder = std::function<std::unique_ptr<App>()>;
int run_service(const std::string& name, std::uint16_t default_port,
                const std::function<AppBuilder(Env&, const ServiceSettings&)>& configure);

template <class ServiceApp>
int service_main(const std::string& name, std::uint16_t default_port) {
  return run_service(name, default_port, [](Env& env, const ServiceSettings& settings) -> AppBuilder {
    auto config = ServiceApp::Config::from_env(env, settings);
    return [config] { return std::make_unique<ServiceApp>(config); };
  });
}

}  // namespace toggle
