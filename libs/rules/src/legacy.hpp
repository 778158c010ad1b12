// The legacy PERCENTAGE decision, shared by evaluate() (rules.cpp) and resolve() (resolve.cpp)
// so that both answer alike. Private to the library.
#pragma once

#include <string_view>

namespace toggle::rules::detail {

// bucket(user_id, flag_name) < percentage, deciding 0 % and 100 % without hashing.
bool in_percentage(double percentage, std::string_view user_id, std::string_view flag_name) noexcept;

}  // namespace toggle::rules::detail
