// Request inputs that several services check, checked the same way everywhere: each throws
// Error{invalid} with a code and a message naming the field.
#pragma once

#include <string>
#include <string_view>

namespace toggle {

// Flag names: ^[A-Za-z0-9_.-]{1,100}$ except "." and ".." (code invalid_flag_name).
std::string checked_flag_name(std::string value, std::string_view field = "flag_name");
// user_id: 1-256 characters of UTF-8 text without control characters (code invalid_user_id).
std::string checked_user_id(std::string value, std::string_view field = "user_id");

}  // namespace toggle
