// RFC 3339 date-times, parsed by hand: std::chrono::parse needs a stream (allocation, locale) and
// strptime accepts far more than the RFC.
#include "toggle/rules/timestamp.hpp"

#include <cstddef>

namespace toggle::rules {
namespace {

// `count` decimal digits at text[pos]; -1 when any is not a digit.
int digits(std::string_view text, std::size_t pos, std::size_t count) noexcept {
  if (pos + count > text.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

bool is_leap(int year) noexcept { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) noexcept {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to year-month-day in the proleptic Gregorian calendar (Howard Hinnant's
// days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = static_cast<int>(y - era * 400);
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<Timestamp> parse_rfc3339(std::string_view t) noexcept {
  // 0123456789012345678
  // YYYY-MM-DDTHH:MM:SS
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[13] != ':' || t[16] != ':') return std::nullopt;
  if (t[10] != 'T' && t[10] != 't' && t[10] != ' ') return std::nullopt;
  const int year = digits(t, 0, 4), month = digits(t, 5, 2), day = digits(t, 8, 2);
  const int hour = digits(t, 11, 2), minute = digits(t, 14, 2), second = digits(t, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) return std::nullopt;
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) return std::nullopt;

  std::size_t pos = 19;
  std::int32_t nanos = 0;
  if (t[pos] == '.') {
    std::size_t first = ++pos;
    for (; pos < t.size() && t[pos] >= '0' && t[pos] <= '9'; ++pos) {
      if (pos - first < 9) nanos = nanos * 10 + (t[pos] - '0');
    }
    if (pos == first) return std::nullopt;  // "." without digits
    for (std::size_t n = pos - first; n < 9; ++n) nanos *= 10;
  }
  if (pos >= t.size()) return std::nullopt;  // no offset
  int offset_seconds = 0;
  if (t[pos] == 'Z' || t[pos] == 'z') {
    ++pos;
  } else if (t[pos] == '+' || t[pos] == '-') {
    const int oh = digits(t, pos + 1, 2), om = digits(t, pos + 4, 2);
    if (pos + 6 != t.size() || t[pos + 3] != ':' || oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    offset_seconds = (oh * 60 + om) * 60 * (t[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != t.size()) return std::nullopt;

  // Local time minus its offset is UTC: 10:00+02:00 is 08:00Z.
  const std::int64_t seconds =
      days_from_civil(year, month, day) * 86'400 + hour * 3'600 + minute * 60 + second - offset_seconds;
  return Timestamp{seconds, nanos};
}

}  // namespace toggle::rules
