// How error messages quote what a client sent. Private to the library.
#pragma once

#include <string>
#include <string_view>

namespace toggle::rules::detail {

// 'text' when it is 1-64 bytes of printable ASCII, otherwise "(not shown)": error messages end up
// in JSON replies and logs, and must not carry arbitrary client bytes.
std::string quoted(std::string_view text);  // defined in rule_json.cpp

}  // namespace toggle::rules::detail
