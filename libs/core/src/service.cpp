#include "toggle/core/service.hpp"

#include <pthread.h>

#include <csignal>

#include "toggle/core/client.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/metrics.hpp"
#include "toggle/core/sql.hpp"

namespace toggle {
namespace {

// SIGTERM and SIGINT are blocked in every thread and collected by sigwait() in run(): no
// async-signal-safety concerns, and the shutdown runs as ordinary code.
sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

Service::Service(std::string name, std::uint16_t default_port) : name_(std::move(name)) {
  sigset_t set = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread exists, so all inherit it
  std::signal(SIGPIPE, SIG_IGN);

  log::Level level = log::Level::info;
  std::string level_text = env_.str("LOG_LEVEL", "info");
  if (!log::parse_level(level_text, level)) env_.fail("LOG_LEVEL=" + level_text + " is not debug, info, warn or error");
  log::init(name_, level);

  options_.port = static_cast<std::uint16_t>(env_.integer("PORT", default_port, 0, 65535));
  options_.host = env_.str("HOST", "0.0.0.0");
  data_dir_ = env_.str("DATA_DIR", "./data");
  options_.io_threads = static_cast<unsigned>(env_.integer("HTTP_THREADS", 0, 0, 256));
  options_.worker_threads = static_cast<unsigned>(env_.integer("HTTP_WORKER_THREADS", 8, 1, 256));
  options_.max_body_bytes = static_cast<std::size_t>(env_.integer("HTTP_MAX_BODY_BYTES", 64 * 1024, 1024, 64 << 20));
  options_.max_header_bytes = static_cast<std::size_t>(env_.integer("HTTP_MAX_HEADER_BYTES", 16 * 1024, 1024, 1 << 20));
  options_.max_connections = static_cast<std::size_t>(env_.integer("HTTP_MAX_CONNECTIONS", 20000, 1, 1000000));
  options_.idle_timeout = env_.millis("HTTP_IDLE_TIMEOUT_MS", 60000, 100, 3600000);
  options_.read_timeout = env_.millis("HTTP_READ_TIMEOUT_MS", 30000, 100, 3600000);
  options_.write_timeout = options_.read_timeout;
  shutdown_timeout_ = env_.millis("SHUTDOWN_TIMEOUT_MS", 10000, 0, 600000);
  options_.on_internal_error = [](const std::string& id, const std::string& what) {
    log::error("request failed", {{"request_id", id}, {"error", what}});
  };

  router_.get("/health", [](Request&) -> Reply { return Response{200, R"({"status":"ok"})"}; }, {.blocking = false});
  router_.get("/metrics",
              [](Request&) -> Reply {
                return Response{200, metrics().render(), "text/plain; version=0.0.4; charset=utf-8"};
              },
              {.blocking = false});
  router_.get("/ready", [this](Request&) -> Reply {
    std::string problems;
    for (auto& check : readiness_) {
      std::string p = check();
      if (p.empty()) continue;
      if (!problems.empty()) problems += "; ";
      problems += p;
    }
    if (!problems.empty()) return error_response(503, "not ready: " + problems);
    return Response{200, R"({"status":"ready"})"};
  });
}

Service::~Service() = default;

std::string Service::database_url() {
  std::string url = env_.str("DATABASE_URL", "");
  if (!sql::is_supported_database_url(url)) {
    env_.fail("DATABASE_URL has an unsupported scheme (use sqlite:PATH or postgres://user:password@host:port/db)");
  } else if (sql::is_postgres_url(url)) {
    try {
      sql::open_postgres(url);  // checks the syntax only: connections are opened on demand
    } catch (const sql::Error& e) {
      env_.fail("DATABASE_URL is not a valid PostgreSQL URL: " + std::string(e.what()));
    }
  }
  return url;
}

sql::Options Service::database_options() {
  sql::Options options;
  options.pool_size = static_cast<std::size_t>(env_.integer("DATABASE_POOL_SIZE", 8, 1, 1000));
  return options;
}

std::function<std::string()> http_health_check(std::string name, std::string base_url) {
  return [name = std::move(name), url = std::move(base_url) + "/health"]() -> std::string {
    auto res = HttpClient().send({"GET", url, {}, "", std::chrono::milliseconds(1000)});
    return res.status == 200 ? "" : name + " unreachable";
  };
}

void Service::add_readiness_check(std::function<std::string()> check) { readiness_.push_back(std::move(check)); }
void Service::on_drain(std::function<void()> fn) { on_drain_.push_back(std::move(fn)); }
void Service::on_stop(std::function<void()> fn) { on_stop_.push_back(std::move(fn)); }

int Service::run() {
  env_.exit_if_invalid(name_.c_str());
  Server server(options_, router_);
  try {
    server.start();
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
    return 1;
  }
  log::info("listening", {{"port", server.port()}, {"host", options_.host}, {"data_dir", data_dir_}});

  sigset_t set = shutdown_signals();
  int signal = 0;
  sigwait(&set, &signal);
  log::info("shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});

  server.begin_stop();
  for (auto& fn : on_drain_) fn();
  std::size_t forced = server.finish_stop(shutdown_timeout_);
  if (forced) log::warn("connections closed before their requests finished", {{"count", forced}});
  for (auto it = on_stop_.rbegin(); it != on_stop_.rend(); ++it) (*it)();
  log::info("stopped");
  return 0;
}

int guarded_main(const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    log::error("cannot start", {{"error", e.what()}});
    return 1;
  }
}

}  // namespace toggle
