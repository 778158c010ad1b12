#include "toggle/core/checks.hpp"

#include "toggle/core/error.hpp"
#include "toggle/core/text.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle {

std::string checked_flag_name(std::string value, std::string_view field) {
  if (!rules::is_valid_flag_name(value))
    throw Error::invalid("invalid_flag_name",
                         std::string(field) + " must be 1-100 characters of A-Z, a-z, 0-9, '_', '.', '-'");
  return value;
}

std::string checked_user_id(std::string value, std::string_view field) {
  if (!is_valid_utf8(value) || !rules::is_valid_user_id(value))
    throw Error::invalid("invalid_user_id",
                         std::string(field) + " must be 1-256 characters of UTF-8 text without control characters");
  return value;
}

}  // namespace toggle
