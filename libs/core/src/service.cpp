#include "toggle/core/service.hpp"

#include <arpa/inet.h>
#include <pthread.h>

#include <csignal>

#include "toggle/core/client.hpp"
#include "toggle/core/database.hpp"
#include "toggle/core/log.hpp"

namespace toggle {
namespace {

// SIGTERM and SIGINT are blocked in every thread and collected by sigwait() in run_service(): no
// async-signal-safety concerns, and the shutdown runs as ordinary code.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

bool is_ip_address(const std::string& text) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

constexpr const char* kDevelopmentServiceKey = "tm_key_service_internal_dev";

}  // namespace

ServiceSettings ServiceSettings::from_env(Env& env, std::string name, std::uint16_t default_port) {
  ServiceSettings s;
  s.name = std::move(name);
  log::Level level = log::Level::info;
  std::string level_text = env.str("LOG_LEVEL", "info");
  if (!log::parse_level(level_text, level)) env.fail("LOG_LEVEL=" + level_text + " is not debug, info, warn or error");
  log::init(s.name, level);

  auto& o = s.server;
  o.port = static_cast<std::uint16_t>(env.integer("PORT", default_port, 0, 65535));
  o.host = env.str("HOST", "0.0.0.0");
  if (!is_ip_address(o.host)) env.fail("HOST=" + o.host + " is not an IPv4 or IPv6 address (e.g. 0.0.0.0, ::, 127.0.0.1)");
  s.data_dir = env.str("DATA_DIR", "./data");
  o.io_threads = static_cast<unsigned>(env.integer("HTTP_THREADS", 0, 0, 256));
  o.worker_threads = static_cast<unsigned>(env.integer("HTTP_WORKER_THREADS", 8, 1, 256));
  o.max_body_bytes = static_cast<std::size_t>(env.integer("HTTP_MAX_BODY_BYTES", 64 * 1024, 1024, 64 << 20));
  o.max_header_bytes = static_cast<std::size_t>(env.integer("HTTP_MAX_HEADER_BYTES", 16 * 1024, 1024, 1 << 20));
  o.max_connections = static_cast<std::size_t>(env.integer("HTTP_MAX_CONNECTIONS", 20000, 1, 1000000));
  o.idle_timeout = env.millis("HTTP_IDLE_TIMEOUT_MS", 60000, 100, 3600000);
  o.header_timeout = env.millis("HTTP_HEADER_TIMEOUT_MS", 10000, 100, 3600000);
  o.max_connections_per_address =
      static_cast<std::size_t>(env.integer("HTTP_MAX_CONNECTIONS_PER_ADDRESS", 1000, 0, 1000000));
  o.read_timeout = env.millis("HTTP_READ_TIMEOUT_MS", 30000, 100, 3600000);
  o.write_timeout = o.read_timeout;
  s.shutdown_timeout = env.millis("SHUTDOWN_TIMEOUT_MS", 10000, 0, 600000);
  std::string origins = env.str("CORS_ALLOWED_ORIGINS", "");
  for (std::size_t start = 0; start < origins.size();) {
    std::size_t comma = std::min(origins.find(',', start), origins.size());
    std::string origin = origins.substr(start, comma - start);
    start = comma + 1;
    while (!origin.empty() && origin.front() == ' ') origin.erase(0, 1);
    while (!origin.empty() && origin.back() == ' ') origin.pop_back();
    bool web = (origin.rfind("http://", 0) == 0 || origin.rfind("https://", 0) == 0) &&
               origin.find('/', origin.find("://") + 3) == std::string::npos && origin.size() > origin.find("://") + 3;
    if (origin == "*" || web)
      o.cors_origins.push_back(origin);
    else
      env.fail("CORS_ALLOWED_ORIGINS: '" + origin + "' is not * or an origin like https://app.example.com");
  }
  o.on_internal_error = [](const std::string& id, const std::string& what) {
    log::error("request failed", {{"request_id", id}, {"error", what}});
  };
  return s;
}

DatabaseSettings DatabaseSettings::from_env(Env& env, const ServiceSettings& service, const std::string& default_file) {
  DatabaseSettings d;
  d.url = env.str("DATABASE_URL", "");
  d.default_path = service.data_dir + "/" + default_file;
  if (!sql::is_supported_database_url(d.url)) {
    env.fail("DATABASE_URL has an unsupported scheme (use sqlite:PATH or postgres://user:password@host:port/db)");
  } else if (sql::is_postgres_url(d.url)) {
    try {
      sql::open_postgres(d.url);  // checks the syntax only: connections are opened on demand
    } catch (const sql::Error& e) {
      env.fail("DATABASE_URL is not a valid PostgreSQL URL: " + std::string(e.what()));
    }
  }
  d.options.pool_size = static_cast<std::size_t>(env.integer("DATABASE_POOL_SIZE", 8, 1, 1000));
  return d;
}

std::unique_ptr<sql::Database> DatabaseSettings::open() const {
  return sql::open_database(url, default_path, options);
}

std::string auth_service_url(Env& env) { return env.url("AUTH_SERVICE_URL", "http://localhost:8001"); }

std::string service_api_key(Env& env) {
  std::string key = env.required("SERVICE_API_KEY", kDevelopmentServiceKey);
  if (key == kDevelopmentServiceKey)
    log::warn("SERVICE_API_KEY is the development default: set your own in production");
  return key;
}

BackendSettings BackendSettings::from_env(Env& env, const ServiceSettings& service, const std::string& default_file) {
  return {auth_service_url(env), service_api_key(env), DatabaseSettings::from_env(env, service, default_file)};
}

std::function<std::string()> http_health_check(std::string name, std::string base_url) {
  return [name = std::move(name), url = std::move(base_url) + "/health"]() -> std::string {
    auto res = HttpClient().send({"GET", url, {}, "", std::chrono::milliseconds(1000)});
    return res.status == 200 ? "" : name + " unreachable";
  };
}

int run_service(const std::string& name, std::uint16_t default_port,
                const std::function<AppBuilder(Env&, const ServiceSettings&)>& configure) {
  sigset_t signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread exists, so all inherit it
  std::signal(SIGPIPE, SIG_IGN);

  Env env;
  ServiceSettings settings = ServiceSettings::from_env(env, name, default_port);
  AppBuilder build;
  try {
    build = configure(env, settings);
  } catch (const std::exception& e) {
    env.fail(e.what());
  }
  env.exit_if_invalid(name.c_str());

  std::unique_ptr<App> app;
  try {
    app = build();
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
    return 1;
  }
  Server server(settings.server, app->router());
  try {
    server.start();
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
    return 1;
  }
  log::info("listening", {{"port", server.port()}, {"host", settings.server.host}, {"data_dir", settings.data_dir}});

  int signal = 0;
  sigwait(&signals, &signal);
  log::info("shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});

  server.begin_stop();
  app->drain();
  std::size_t forced = server.finish_stop(settings.shutdown_timeout);
  if (forced) log::warn("connections closed before their requests finished", {{"count", forced}});
  app->stop();
  app.reset();
  log::info("stopped");
  return 0;
}

}  // namespace toggle
