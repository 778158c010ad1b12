// Names that the flag model shares with flag names (variants, segments). Private to the library.
#pragma once

#include <string_view>

#include "toggle/rules/rules.hpp"

namespace toggle::rules::detail {

// Variant and segment names use the flag-name alphabet: safe unescaped in URLs, logs and metrics.
inline bool is_valid_name(std::string_view name) noexcept { return is_valid_flag_name(name); }
inline constexpr const char* kNameRule = "1-100 characters of A-Z, a-z, 0-9, '_', '.', '-'";

}  // namespace toggle::rules::detail
