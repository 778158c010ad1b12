// Configuration from environment variables: every setting has a name and a default, and is
// validated once at start-up (a variable set to an empty string is an error, not the default). Problems are collected so a bad start names every bad variable,
// then the service exits with status 2 (see Env::exit_if_invalid).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace toggle {

class Env {
 public:
  std::string str(const char* name, const std::string& fallback);
  // A non-empty string; an empty or missing one is an error when `fallback` is empty.
  std::string required(const char* name, const std::string& fallback);
  std::int64_t integer(const char* name, std::int64_t fallback, std::int64_t min, std::int64_t max);
  bool boolean(const char* name, bool fallback);
  std::chrono::milliseconds millis(const char* name, std::int64_t fallback_ms, std::int64_t min_ms,
                                   std::int64_t max_ms);
  // An http:// or https:// base URL; a trailing slash is removed.
  std::string url(const char* name, const std::string& fallback);

  void fail(const std::string& problem) { problems_.push_back(problem); }
  const std::vector<std::string>& problems() const { return problems_; }
  // Prints each problem (as a JSON log line) and exits(2) if there is any.
  void exit_if_invalid(const char* service) const;

 private:
  const char* raw(const char* name);
  std::vector<std::string> problems_;
};

}  // namespace toggle
