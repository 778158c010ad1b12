// Small text helpers used on hot paths and in error replies (no heavy headers).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace toggle {

// Appends `s` as a JSON string literal (quotes included), escaping what JSON requires.
void append_json_string(std::string& out, std::string_view s);

// ISO-8601 UTC with milliseconds, e.g. 2026-03-12T00:17:54.167Z.
std::string iso8601(std::chrono::system_clock::time_point t);
inline std::string iso8601_now() { return iso8601(std::chrono::system_clock::now()); }

bool iequals(std::string_view a, std::string_view b);

// Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace toggle
