// RFC 3339 date-times for the before / after operators.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string_view>

namespace toggle::rules {

// An instant: seconds since 1970-01-01T00:00:00Z plus nanoseconds (0..999,999,999).
struct Timestamp {
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  auto operator<=>(const Timestamp&) const = default;
};

// RFC 3339 §5.6 date-time: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). 'T' may be 't' or a
// space and 'Z' may be 'z' (both allowed by the RFC). The date must exist (2023-02-29 does not);
// second 60 (a leap second) is accepted and counts as the next minute's second 0. Fractions keep
// nanoseconds; further digits are accepted and ignored. A date alone, a time without an offset,
// or ISO 8601 forms the RFC does not allow ("20250101T000000Z", "+0100") are not date-times.
// Does not allocate.
std::optional<Timestamp> parse_rfc3339(std::string_view text) noexcept;

}  // namespace toggle::rules
