// Small text helpers used on hot paths and in error replies (no heavy headers).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace toggle {

// Appends `s` as a JSON string literal (quotes included), escaping what JSON requires.
void append_json_string(std::string& out, std::string_view s);

// An instant with microseconds: years 0000-9999 fit (system_clock's nanoseconds end in 2262).
using Instant = std::chrono::sys_time<std::chrono::microseconds>;

// ISO-8601 UTC with milliseconds, e.g. 2026-03-12T00:17:54.167Z.
std::string iso8601(Instant t);
inline std::string iso8601(std::chrono::system_clock::time_point t) {
  return iso8601(std::chrono::floor<std::chrono::microseconds>(t));
}
inline std::string iso8601_now() { return iso8601(std::chrono::system_clock::now()); }

// An RFC 3339 date-time: "2026-11-30T14:00:00Z", "2026-11-30T14:00:00.123456+05:00" ('T' or a
// space, 'Z' or an offset; the grammar is libs/rules' parse_rfc3339, the one parser of the
// project). With `postgres`, PostgreSQL's ISO output instead, whose offset may be "+00" or
// "+05:30:15" or absent (a TIMESTAMP without zone, taken as UTC). Years 0000-9999. nullopt for
// anything else: other formats, out-of-range fields, 30 February.
std::optional<Instant> parse_timestamp(std::string_view text, bool postgres = false);

bool iequals(std::string_view a, std::string_view b);

// A decimal integer within [min, max] ("007" is 7; no sign, no spaces); nullopt otherwise.
std::optional<std::int64_t> parse_bounded_int(std::string_view text, std::int64_t min, std::int64_t max);

// Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s);
// Characters (code points) in well-formed UTF-8: what the API's length limits count.
std::size_t utf8_length(std::string_view s);

}  // namespace toggle
