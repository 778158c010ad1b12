// Structured JSON logs on stdout, one object per line:
//   {"time":"2026-03-12T00:17:54.167Z","level":"info","service":"flag-service","msg":"listening","port":8002}
// Secrets (keys, the master key) are never passed to the logger.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace toggle::log {

enum class Level { debug, info, warn, error };

struct Field {
  using Value = std::variant<std::string_view, std::int64_t, double, bool>;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <class I, class = std::enable_if_t<std::is_integral_v<I>>>
  Field(std::string_view k, I v) : key(k), value(static_cast<std::int64_t>(v)) {}
  std::string_view key;
  Value value;
};

// Sets the service name and minimum level ("debug", "info", "warn", "error").
void init(std::string_view service, Level level);
bool parse_level(std::string_view text, Level& out);
bool enabled(Level level);

void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});
inline void debug(std::string_view m, std::initializer_list<Field> f = {}) {
  if (enabled(Level::debug)) write(Level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::info, m, f); }
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::warn, m, f); }
inline void error(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::error, m, f); }

}  // namespace toggle::log
