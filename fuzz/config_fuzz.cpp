// Configuration parsing: each input is an environment, one NAME=value per line, read by the five
// services' own Config::from_env() exactly as their main() reads it (URLs, numbers, durations,
// keys, REDIS_URL, DATABASE_URL, the AWS and Azure settings and connection strings), and by the
// parsers of the values a service reads later (REDIS_URL's address).
// Properties: no crash, leak or undefined behaviour; a bad value is a named problem (Env) or an
// exception the service reports at start, never anything else.
#include <stdlib.h>

#include "analytics-service/app.hpp"
#include "auth-service/app.hpp"
#include "evaluation-service/app.hpp"
#include "flag-service/app.hpp"
#include "fuzz.hpp"
#include "targeting-service/app.hpp"
#include "toggle/core/config.hpp"
#include "toggle/core/redis.hpp"
#include "toggle/core/service.hpp"

namespace {

void set_environment(std::string_view text) {
  clearenv();
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    auto eq = line.find('=');
    if (eq == 0 || eq == std::string_view::npos) continue;
    std::string name(line.substr(0, eq)), value(line.substr(eq + 1));
    if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) continue;
    setenv(name.c_str(), value.c_str(), 1);
  }
}

template <class ServiceApp>
void read_config(const char* service, std::uint16_t port) {
  toggle::Env env;
  try {
    auto settings = toggle::ServiceSettings::from_env(env, service, port);
    auto config = ServiceApp::Config::from_env(env, settings);
    (void)config;
  } catch (const std::exception&) {
    // Reported at start, and the service exits 2.
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  set_environment(fuzz::text_of(data, size));
  read_config<toggle::auth::AuthService>("auth-service", 8001);
  read_config<toggle::flags::FlagService>("flag-service", 8002);
  read_config<toggle::targeting::TargetingService>("targeting-service", 8003);
  read_config<toggle::evaluation::EvaluationService>("evaluation-service", 8004);
  read_config<toggle::analytics::AnalyticsService>("analytics-service", 8005);
  if (const char* url = getenv("REDIS_URL")) toggle::parse_redis_url(url);
  return 0;
}
