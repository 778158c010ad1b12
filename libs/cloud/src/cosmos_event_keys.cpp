#include "cosmos_event_keys.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

#include "toggle/core/error.hpp"

namespace toggle::cloud::event_keys {
namespace {

constexpr std::int64_t kNewestHour = 70389527;  // hour_of(kNewestMillis)
constexpr std::int64_t kNewestDay = 2932896;    // day_of(kNewestMillis)

std::string padded(std::int64_t value, int digits) {
  char text[24];
  std::snprintf(text, sizeof text, "%0*lld", digits, static_cast<long long>(value));
  return text;
}

// Floor division (hours and days before 1970 are negative).
std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::optional<std::int64_t> inverted(const std::string& key, std::size_t digits, std::int64_t newest) {
  std::int64_t value = 0;
  if (key.size() != digits) return std::nullopt;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), value);
  if (ec != std::errc() || end != key.data() + key.size() || value < 0) return std::nullopt;
  return newest - value;
}

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

std::string row_prefix(std::int64_t millis) { return padded(kNewestMillis - millis, 15); }

std::string row_key(std::int64_t millis, const std::string& event_id) {
  static const char* hex = "0123456789abcdef";
  std::string key = row_prefix(millis);
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
std::int64_t day_of(std::int64_t millis) { return floor_div(millis, kMillisPerDay); }

std::string hour_text(std::int64_t hour) {
  std::int64_t day = floor_div(hour, 24);
  return day_text(day) + "T" + padded(hour - day * 24, 2);
}

std::string day_text(std::int64_t day) {
  std::chrono::year_month_day date{std::chrono::sys_days(std::chrono::days(day))};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                static_cast<unsigned>(date.day()));
  return text;
}

std::string hour_row_key(std::int64_t hour) { return padded(kNewestHour - hour, 8); }
std::string day_row_key(std::int64_t day) { return padded(kNewestDay - day, 7); }
std::optional<std::int64_t> hour_from_row_key(const std::string& row_key) { return inverted(row_key, 8, kNewestHour); }
std::optional<std::int64_t> day_from_row_key(const std::string& row_key) { return inverted(row_key, 7, kNewestDay); }
std::string hours_partition(std::int64_t day) { return "hours-" + day_text(day); }

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

namespace toggle::cloud::event_keys {

std::vector<TableEntity> read_newest(const ReadRange& read, const std::vector<std::string>& partitions,
                                     std::int64_t newest, std::int64_t oldest, std::int64_t anchor,
                                     std::size_t wanted) {
  std::vector<TableEntity> have;
  if (wanted == 0 || newest < oldest) return have;
  anchor = std::clamp(anchor, oldest, newest);
  // Windows (lo, hi] of milliseconds, newest first: the first is everything after the last
  // second before the anchor.
  std::int64_t span = 1000;
  std::int64_t hi = newest;
  std::int64_t lo = std::max(oldest - 1, anchor - span);
  for (;;) {
    std::size_t got = 0;
    std::string from = row_prefix(hi), to = row_prefix(lo);
    for (const std::string& partition : partitions) {
      for (TableEntity& e : read(partition, from, to)) {
        have.push_back(std::move(e));
        ++got;
      }
    }
    if (have.size() >= wanted || lo < oldest) break;
    // The next window: long enough to hold what is missing at the rate this one held events
    // (a quarter more), between twice and 64 times as long; an empty one, 64 times.
    std::int64_t factor = 64;
    if (got > 0) factor = std::clamp<std::int64_t>((wanted - have.size()) * 5 / (4 * got) + 1, 2, 64);
    span = std::min(span * factor, kNewestMillis - kOldestMillis + 1);
    hi = lo;
    lo = std::max(oldest - 1, hi - span);
  }
  std::sort(have.begin(), have.end(), [](const TableEntity& a, const TableEntity& b) { return a.row_key < b.row_key; });
  if (have.size() > wanted) have.resize(wanted);
  return have;
}

}  // namespace toggle::cloud::event_keys
