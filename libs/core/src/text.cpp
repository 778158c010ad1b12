#include "toggle/core/text.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>

#include "toggle/rules/timestamp.hpp"

namespace toggle {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of characters that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

std::string iso8601(Instant t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  auto secs = ms / 1000 - (ms % 1000 < 0 ? 1 : 0);  // floor, also before 1970
  int millis = static_cast<int>(ms - secs * 1000);
  // Every evaluation stamps its event: format the date and time once per second per thread.
  thread_local long long cached_secs = std::numeric_limits<long long>::min();
  thread_local char prefix[64];  // room for any int year, to keep -Wformat-truncation quiet
  if (secs != cached_secs) {
    std::time_t tt = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    std::snprintf(prefix, sizeof prefix, "%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached_secs = secs;
  }
  std::string out(prefix);
  out += static_cast<char>('0' + millis / 100);
  out += static_cast<char>('0' + millis / 10 % 10);
  out += static_cast<char>('0' + millis % 10);
  out += 'Z';
  return out;
}

namespace {

Instant instant_of(const rules::Timestamp& t) {
  return Instant(std::chrono::seconds(t.seconds) + std::chrono::microseconds(t.nanos / 1000));
}

// PostgreSQL's ISO output ("2026-11-25 13:31:05.111+02", "… +05:30:15", no zone for TIMESTAMP) as
// RFC 3339, and the seconds of an offset RFC 3339 cannot carry (zones before 1900 had them).
std::optional<std::pair<std::string, long>> rfc3339_of_postgres(std::string_view s) {
  if (s.size() < 19 || (s[10] != ' ' && s[10] != 'T')) return std::nullopt;
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.')
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9';) ++pos;
  std::string text(s.substr(0, pos));
  std::string_view zone = s.substr(pos);
  auto digits = [](std::string_view d) { return d.size() == 2 && std::isdigit(d[0]) && std::isdigit(d[1]); };
  long extra_seconds = 0;
  if (zone.empty()) {
    text += 'Z';  // TIMESTAMP without zone: UTC
  } else if ((zone[0] == '+' || zone[0] == '-') && digits(zone.substr(1, 2))) {
    if (zone.size() == 3) {
      text += std::string(zone) + ":00";
    } else if (zone.size() >= 6 && zone[3] == ':' && digits(zone.substr(4, 2))) {
      text += zone.substr(0, 6);
      if (zone.size() == 9 && zone[6] == ':' && digits(zone.substr(7, 2)))
        extra_seconds = (zone[0] == '-' ? -1 : 1) * std::stol(std::string(zone.substr(7, 2)));
      else if (zone.size() != 6)
        return std::nullopt;
    } else {
      return std::nullopt;
    }
  } else {
    return std::nullopt;  // "Z", " BC", "infinity": not what the driver reads as a date
  }
  return std::pair{std::move(text), extra_seconds};
}

}  // namespace

std::optional<Instant> parse_timestamp(std::string_view text, bool postgres) {
  if (!postgres) {
    auto t = rules::parse_rfc3339(text);
    if (!t) return std::nullopt;
    return instant_of(*t);
  }
  auto rfc = rfc3339_of_postgres(text);
  if (!rfc) return std::nullopt;
  auto t = rules::parse_rfc3339(rfc->first);
  if (!t) return std::nullopt;
  return instant_of(*t) - std::chrono::seconds(rfc->second);
}

std::optional<std::int64_t> parse_bounded_int(std::string_view text, std::int64_t min, std::int64_t max) {
  std::int64_t value = 0;
  if (text.empty() || text.front() < '0' || text.front() > '9') return std::nullopt;  // no sign, no spaces
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0, n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0)
      len = 2, cp = c & 0x1f;
    else if ((c & 0xf0) == 0xe0)
      len = 3, cp = c & 0x0f;
    else if ((c & 0xf8) == 0xf0)
      len = 4, cp = c & 0x07;
    else
      return false;
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;  // every byte but continuations
  return n;
}

}  // namespace toggle
