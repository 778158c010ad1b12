#include "toggle/core/config.hpp"

#include <cstdlib>
#include <iostream>

#include "toggle/core/log.hpp"

namespace toggle {

// nullptr when unset; a variable set to the empty string is a mistake (a typo in a manifest, a
// secret that was not filled in), not a request for the default: it stops the service at start.
const char* Env::raw(const char* name) {
  const char* v = std::getenv(name);
  if (v && !*v) {
    fail(std::string(name) + " is set to an empty string: unset it for the default, or give it a value");
    return nullptr;
  }
  return v;
}

std::string Env::str(const char* name, const std::string& fallback) {
  const char* v = raw(name);
  return v ? v : fallback;
}

std::string Env::required(const char* name, const std::string& fallback) {
  std::string v = str(name, fallback);
  if (v.empty() && std::getenv(name) == nullptr) fail(std::string(name) + " must be set");
  return v;
}

std::int64_t Env::integer(const char* name, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const char* v = raw(name);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v, &end, 10);
  if (errno != 0 || *end != '\0' || n < min || n > max) {
    fail(std::string(name) + "=" + v + " is not an integer between " + std::to_string(min) + " and " +
         std::to_string(max));
    return fallback;
  }
  return n;
}

bool Env::boolean(const char* name, bool fallback) {
  const char* v = raw(name);
  if (!v) return fallback;
  std::string s = v;
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  fail(std::string(name) + "=" + s + " is not a boolean (true/false)");
  return fallback;
}

std::chrono::milliseconds Env::millis(const char* name, std::int64_t fallback_ms, std::int64_t min_ms,
                                      std::int64_t max_ms) {
  return std::chrono::milliseconds(integer(name, fallback_ms, min_ms, max_ms));
}

std::string Env::url(const char* name, const std::string& fallback) {
  std::string v = str(name, fallback);
  auto scheme_end = v.find("://");
  bool http = v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0;
  if (!http || v.size() <= scheme_end + 3 || v[scheme_end + 3] == '/') {
    fail(std::string(name) + "=" + v + " is not an http:// or https:// URL with a host");
    return v;
  }
  while (!v.empty() && v.back() == '/') v.pop_back();
  return v;
}

void Env::exit_if_invalid(const char* service) const {
  if (problems_.empty()) return;
  for (const auto& p : problems_) log::error("invalid configuration", {{"problem", p}});
  log::error("not starting: fix the configuration above", {{"service", service}});
  std::exit(2);
}

}  // namespace toggle
