// How error messages quote what a client sent. Private to the library.
#pragma once

#include <string>
#include <string_view>

namespace toggle::rules::detail {

// 'text' when it is 1-64 bytes of printable ASCII, otherwise "(not shown)": error messages end up
// in JSON replies and logs, and must not carry arbitrary client bytes.
inline std::string quoted(std::string_view text) {
  bool echoable = !text.empty() && text.size() <= 64;
  for (unsigned char c : text) echoable = echoable && c >= 0x20 && c < 0x7f;
  return echoable ? "'" + std::string(text) + "'" : "(not shown)";
}

}  // namespace toggle::rules::detail
