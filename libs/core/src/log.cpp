// The JSON line is assembled here; spdlog supplies the timestamp, the level and a thread-safe
// stdout sink, with a pattern that wraps our fields: {"time":…,"level":…,"service":…,<fields>}.
#include "toggle/core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>

#include "toggle/core/text.hpp"

namespace toggle::log {
namespace {

std::atomic<Level> g_level{Level::info};

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = spdlog::stdout_logger_mt("toggle");
    l->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","service":"unknown",%v})",
                   spdlog::pattern_time_type::utc);
    l->set_level(spdlog::level::debug);
    l->flush_on(spdlog::level::debug);  // logs are few; flushing each keeps them in order with crashes
    return l;
  }();
  return instance;
}

spdlog::level::level_enum to_spdlog(Level l) {
  switch (l) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void init(std::string_view service, Level level) {
  g_level = level;
  std::string svc;
  append_json_string(svc, service);
  // spdlog names levels "warning" and "error"; keep them.
  logger()->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","service":)" + svc + ",%v}",
                        spdlog::pattern_time_type::utc);
}

bool parse_level(std::string_view text, Level& out) {
  if (text == "debug")
    out = Level::debug;
  else if (text == "info")
    out = Level::info;
  else if (text == "warn" || text == "warning")
    out = Level::warn;
  else if (text == "error")
    out = Level::error;
  else
    return false;
  return true;
}

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::string line = "\"msg\":";
  append_json_string(line, message);
  for (const auto& f : fields) {
    line += ',';
    append_json_string(line, f.key);
    line += ':';
    std::visit(
        [&line](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>)
            append_json_string(line, v);
          else if constexpr (std::is_same_v<T, bool>)
            line += v ? "true" : "false";
          else if constexpr (std::is_same_v<T, double>) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.6g", v);
            line += buf;
          } else
            line += std::to_string(v);
        },
        f.value);
  }
  logger()->log(to_spdlog(level), spdlog::string_view_t(line.data(), line.size()));
}

}  // namespace toggle::log
