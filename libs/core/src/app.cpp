#include "toggle/core/app.hpp"

#include "toggle/core/auth.hpp"
#include "toggle/core/metrics.hpp"

namespace toggle {

App::App() {
  key_validations();  // every service lists auth_validations_total, also at 0
  router_.get("/health", [](Request&) -> Reply { return Response{200, R"({"status":"ok"})"}; }, {.blocking = false});
  router_.get("/metrics",
              [](Request&) -> Reply {
                return Response{200, metrics().render(), "text/plain; version=0.0.4; charset=utf-8"};
              },
              {.blocking = false});
  router_.get("/ready", [this](Request&) -> Reply {
    std::string problems = readiness();
    if (!problems.empty()) return error_response(ErrorKind::unavailable, "not_ready", "not ready: " + problems);
    return Response{200, R"({"status":"ready"})"};
  });
}

App::~App() = default;

void App::add_readiness_check(std::function<std::string()> check) { readiness_.push_back(std::move(check)); }
void App::on_drain(std::function<void()> step) { on_drain_.push_back(std::move(step)); }
void App::on_stop(std::function<void()> step) { on_stop_.push_back(std::move(step)); }

std::string App::readiness() const {
  std::string problems;
  for (const auto& check : readiness_) {
    std::string p = check();
    if (p.empty()) continue;
    if (!problems.empty()) problems += "; ";
    problems += p;
  }
  return problems;
}

void App::drain() {
  for (auto& step : on_drain_) step();
}

void App::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto it = on_stop_.rbegin(); it != on_stop_.rend(); ++it) (*it)();
}

}  // namespace toggle
