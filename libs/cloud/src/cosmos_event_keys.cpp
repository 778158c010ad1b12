#include "cosmos_event_keys.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>

#include "toggle/core/error.hpp"

namespace toggle::cloud::event_keys {
namespace {

constexpr std::int64_t kNewestHour = 70389527;  // hour_of(kNewestMillis)

std::string padded(std::int64_t value, int digits) {
  char text[24];
  std::snprintf(text, sizeof text, "%0*lld", digits, static_cast<long long>(value));
  return text;
}

// Floor division (hours before 1970 are negative).
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::int64_t millis_of(const Event& event) {
  // The contract's events carry UTC ("...Z", from parse_event); parsed to the microsecond over
  // the whole 0000-9999 range (system_clock's nanoseconds would overflow outside 1678-2261).
  TableDateTime time;
  std::int64_t millis = 0;
  bool ok = parse_table_datetime(event.timestamp, time);
  if (ok) millis = std::chrono::floor<std::chrono::milliseconds>(time.time.time_since_epoch()).count();
  if (!ok || millis < kOldestMillis || millis > kNewestMillis) {
    throw Error::invalid("invalid_event", "event " + event.event_id + ": timestamp '" + event.timestamp +
                                              "' is not an RFC 3339 date-time in UTC (e.g. 2026-11-30T13:00:00.000Z)");
  }
  return millis;
}

std::string row_key(std::int64_t millis, const std::string& event_id) {
  static const char* hex = "0123456789abcdef";
  std::string key = padded(kNewestMillis - millis, 15);
  key.reserve(key.size() + 2 + 2 * event_id.size());
  key += '_';
  for (unsigned char c : event_id) {
    unsigned char inverted = 255 - c;
    key += hex[inverted >> 4];
    key += hex[inverted & 15];
  }
  key += '~';
  return key;
}

std::int64_t hour_of(std::int64_t millis) { return floor_div(millis, kMillisPerHour); }

std::string hour_text(std::int64_t hour) {
  using namespace std::chrono;
  sys_time<hours> time{hours(hour)};
  auto day = floor<days>(time);
  year_month_day date{day};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02lld", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<long long>((time - day).count()));
  return text;
}

std::string hour_row_key(std::int64_t hour) { return padded(kNewestHour - hour, 8); }

std::optional<std::int64_t> hour_from_row_key(const std::string& row_key) {
  std::int64_t inverted = 0;
  if (row_key.size() != 8) return std::nullopt;
  auto [end, ec] = std::from_chars(row_key.data(), row_key.data() + row_key.size(), inverted);
  if (ec != std::errc() || end != row_key.data() + row_key.size() || inverted < 0) return std::nullopt;
  return kNewestHour - inverted;
}

int shard_of(const std::string& event_id) {
  std::uint32_t hash = 2166136261u;  // FNV-1a: stable across builds and platforms
  for (unsigned char c : event_id) hash = (hash ^ c) * 16777619u;
  return static_cast<int>(hash % kByTimeShards);
}

std::string time_partition(std::int64_t hour, int shard) { return hour_text(hour) + "-" + std::to_string(shard); }

TableEntity event_entity(std::string partition_key, std::string row_key, const Event& event) {
  TableEntity entity{std::move(partition_key), std::move(row_key), {}, ""};
  auto& p = entity.properties;
  p.emplace("event_id", event.event_id);
  p.emplace("user_id", event.user_id);
  p.emplace("flag_name", event.flag_name);
  p.emplace("result", event.result);
  p.emplace("timestamp", event.timestamp);
  if (!event.variant.empty()) p.emplace("variant", event.variant);
  if (!event.reason.empty()) p.emplace("reason", event.reason);
  return entity;
}

std::optional<Event> event_from_entity(const TableEntity& entity) {
  const std::string* id = entity.get<std::string>("event_id");
  if (!id) return std::nullopt;
  auto text = [&](const char* name) {
    const std::string* value = entity.get<std::string>(name);
    return value ? *value : std::string();
  };
  const bool* result = entity.get<bool>("result");
  return Event{*id,           text("user_id"), text("flag_name"), result && *result, text("timestamp"), text("variant"),
               text("reason")};
}

}  // namespace toggle::cloud::event_keys
