// Log lines that a flood of requests could repeat thousands of times a second (a lookup failing,
// a backend down): a log flood costs more than the requests. Implemented in log.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "toggle/core/log.hpp"

namespace toggle::log {

// At most one line per message every `every`; the next line written says how many were held back
// meanwhile ("suppressed": n).
//   static log::RateLimited limited;  limited.warn("flag lookup failed", {{"flag", name}});
class RateLimited {
 public:
  explicit RateLimited(std::chrono::milliseconds every = std::chrono::seconds(10)) : every_(every) {}
  void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
  void warn(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::warn, m, f); }

 private:
  struct Window {
    std::chrono::steady_clock::time_point next;  // when the message may be written again
    std::uint64_t suppressed = 0;                // held back since it was last written
  };
  std::chrono::milliseconds every_;
  std::mutex mutex_;
  std::unordered_map<std::string, Window> windows_;  // by message: a handful of constant texts
};

}  // namespace toggle::log
