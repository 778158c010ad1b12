// A service's App served over HTTP on 127.0.0.1, wired exactly as its main() wires it: the App is
// built from its Config (the same constructor service_main() calls), served by a toggle::Server,
// and stopped as on SIGTERM (stop accepting, drain, finish in-flight requests, stop steps).
//
//   testsupport::RunningApp<toggle::flags::FlagService> flags(config);
//   call("GET", flags.url() + "/flags");
//   flags.stop(); flags.start();   // a restart: a new App, as a new process, on the same port
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "toggle/core/server.hpp"

namespace testsupport {

inline toggle::ServerOptions local_server_options(std::uint16_t port) {
  return toggle::ServerOptions{.host = "127.0.0.1", .port = port, .io_threads = 2, .worker_threads = 4};
}

template <class ServiceApp>
class RunningApp {
 public:
  using Config = typename ServiceApp::Config;

  explicit RunningApp(Config config, bool start_now = true) : config_(std::move(config)) {
    if (start_now) start();
  }
  ~RunningApp() { stop(); }
  RunningApp(const RunningApp&) = delete;
  RunningApp& operator=(const RunningApp&) = delete;

  // Builds a new App and serves it: on a free port the first time, on the same port after.
  void start() {
    if (app_) return;
    app_ = std::make_unique<ServiceApp>(config_);
    server_ = std::make_unique<toggle::Server>(local_server_options(port_), app_->router());
    server_->start();
    port_ = server_->port();
  }
  // As on SIGTERM; the App is destroyed (its threads, its database connections).
  void stop() {
    if (!app_) return;
    server_->begin_stop();
    app_->drain();
    server_->finish_stop(std::chrono::milliseconds(3000));
    app_->stop();
    server_.reset();
    app_.reset();
  }
  bool running() const { return app_ != nullptr; }

  ServiceApp& app() { return *app_; }
  // Changes apply at the next start().
  Config& config() { return config_; }
  const Config& config() const { return config_; }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  Config config_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ServiceApp> app_;
  std::unique_ptr<toggle::Server> server_;
};

}  // namespace testsupport
