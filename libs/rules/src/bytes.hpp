// Byte-string equality for the evaluation path. Private to the library.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace toggle::rules::detail {

// a == b, inline for the short strings that attribute names and values usually are: up to 16
// bytes it compares two (possibly overlapping) words instead of calling memcmp.
inline bool same_bytes(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* x = a.data();
  const char* y = b.data();
  if (n > 16) return std::memcmp(x, y, n) == 0;
  if (n >= 8) {
    std::uint64_t x1, y1, x2, y2;
    std::memcpy(&x1, x, 8);
    std::memcpy(&y1, y, 8);
    std::memcpy(&x2, x + n - 8, 8);
    std::memcpy(&y2, y + n - 8, 8);
    return ((x1 ^ y1) | (x2 ^ y2)) == 0;
  }
  if (n >= 4) {
    std::uint32_t x1, y1, x2, y2;
    std::memcpy(&x1, x, 4);
    std::memcpy(&y1, y, 4);
    std::memcpy(&x2, x + n - 4, 4);
    std::memcpy(&y2, y + n - 4, 4);
    return ((x1 ^ y1) | (x2 ^ y2)) == 0;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (x[i] != y[i]) return false;
  return true;
}

}  // namespace toggle::rules::detail
