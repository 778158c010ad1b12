// A service's application: its routes, its readiness checks and its shutdown steps, without the
// process around it (environment, signals, the HTTP server). Each service defines one, built from
// its configuration by its constructor:
//
//   class FlagService : public toggle::App {
//    public:
//     struct Config { ...; static Config from_env(Env&, const ServiceSettings&); };
//     explicit FlagService(const Config& config);  // opens the store, adds the routes
//   };
//
// main() runs it with service_main<FlagService>() (service.hpp); the tests run the same class on a
// port of their own (tests/support/running_app.hpp), so both are wired the same way.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "toggle/core/router.hpp"

namespace toggle {

class App {
 public:
  App();  // GET /health, /ready and /metrics
  virtual ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  Router& router() { return router_; }

  // Each check returns an empty string when its dependency answers, else what is wrong; GET /ready
  // is 200 only when all pass.
  void add_readiness_check(std::function<std::string()> check);
  // Runs when shutdown begins, after the listener closes and before in-flight requests are
  // awaited (e.g. answer parked long polls now).
  void on_drain(std::function<void()> step);
  // Runs after the server has stopped, in reverse order of registration (e.g. flush events).
  void on_stop(std::function<void()> step);

  // What is not ready ("" when ready).
  std::string readiness() const;
  void drain();
  // The on_stop steps, once.
  void stop();

 private:
  Router router_;
  std::vector<std::function<std::string()>> readiness_;
  std::vector<std::function<void()>> on_drain_, on_stop_;
  bool stopped_ = false;
};

}  // namespace toggle
