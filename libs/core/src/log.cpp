// The JSON line is assembled here; spdlog supplies the timestamp and a thread-safe stdout sink,
// with a pattern that wraps our fields: {"time":…,<"level","service","msg",fields>}. The level is
// written by us: spdlog would name warn "warning", unlike LOG_LEVEL.
#include "toggle/core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <span>
#include <utility>
#include <vector>

#include "toggle/core/rate_limited_log.hpp"
#include "toggle/core/text.hpp"

namespace toggle::log {
namespace {

std::atomic<Level> g_level{Level::info};
// `"service":"name"`, set by init(); read by every write().
std::shared_ptr<const std::string> g_service = std::make_shared<const std::string>(R"("service":"unknown")");

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = spdlog::stdout_logger_mt("toggle");
    l->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ",%v})", spdlog::pattern_time_type::utc);
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

const char* name_of(Level l) {
  switch (l) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

}  // namespace

void init(std::string_view service, Level level) {
  g_level = level;
  std::string svc = "\"service\":";
  append_json_string(svc, service);
  std::atomic_store(&g_service, std::make_shared<const std::string>(std::move(svc)));
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

namespace {

void write_line(Level level, std::string_view message, std::span<const Field> fields) {
  std::string line = "\"level\":\"";
  line += name_of(level);
  line += "\",";
  line += *std::atomic_load(&g_service);
  line += ",\"msg\":";
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

}  // namespace

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (enabled(level)) write_line(level, message, std::span<const Field>(fields.begin(), fields.size()));
}

void RateLimited::write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::uint64_t suppressed;
  {
    std::lock_guard lock(mutex_);
    Window& window = windows_[std::string(message)];
    auto now = std::chrono::steady_clock::now();
    if (now < window.next) {
      ++window.suppressed;
      return;
    }
    window.next = now + every_;
    suppressed = std::exchange(window.suppressed, 0);
  }
  std::vector<Field> all(fields);
  if (suppressed) all.emplace_back("suppressed", suppressed);
  write_line(level, message, all);
}

}  // namespace toggle::log
