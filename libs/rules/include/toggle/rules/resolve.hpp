// resolve(): which variant a flag serves to an evaluation context, and why — the OpenFeature
// evaluation of the new flag model. Pure: no I/O, no clock, no allocation, no exception.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "toggle/rules/context.hpp"
#include "toggle/rules/flag.hpp"
#include "toggle/rules/targeting.hpp"

namespace toggle::rules {

// Why a variant was served; to_string() gives OpenFeature's reason.
enum class Reason : std::uint8_t {
  no_targeting,     // STATIC: the flag has no targeting (none, disabled, or an empty rule list)
  targeting_match,  // TARGETING_MATCH: a rule matched and serves one variant; a USER_LIST hit
  split,            // SPLIT: a rule matched and its split picked the variant; any PERCENTAGE answer
  disabled,         // DISABLED: the flag is off; its off variant
  no_rule_matched,  // DEFAULT: rules exist and none matched; the default variant (a USER_LIST miss: false)
  error,            // ERROR: nothing served; see ErrorCode
};
std::string_view to_string(Reason reason) noexcept;

// OFREP's error codes. resolve() produces only the last three; the service adds the others.
enum class ErrorCode : std::uint8_t {
  none,
  flag_not_found,         // FLAG_NOT_FOUND
  parse_error,            // PARSE_ERROR: the stored targeting could not be read
  targeting_key_missing,  // TARGETING_KEY_MISSING: a split (or PERCENTAGE rule) needs targetingKey
  invalid_context,        // INVALID_CONTEXT: a split's `by` attribute is missing or not a string/integer
  general,                // GENERAL: the rules serve a variant the flag does not have
};
std::string_view to_string(ErrorCode code) noexcept;  // "FLAG_NOT_FOUND", ...; "" for none

struct Resolution {
  const Variant* variant = nullptr;  // points into the Flag's variants; nullptr when reason is error
  Reason reason = Reason::error;
  ErrorCode error = ErrorCode::none;
  int rule = -1;                 // index of the rule that decided (the legacy rule is 0); -1 if none
  std::string_view rule_name;    // that rule's name, when it has one
  std::string_view detail;       // error: the missing attribute or variant name
  // /evaluate's boolean answer: a boolean flag's value; for other types, whether the flag served
  // a variant other than its default and off variants. False on error.
  bool result = false;
};

// Decides `flag` for `context`:
//   disabled                       -> off variant, DISABLED
//   no targeting (nullptr, or [])  -> default variant, STATIC
//   legacy PERCENTAGE              -> the variant holding (bucket(targetingKey, name) < value), SPLIT
//   legacy USER_LIST               -> true: TARGETING_MATCH; false: DEFAULT
//   rules                          -> first rule whose conditions all hold: its variant
//                                     (TARGETING_MATCH) or its split's (SPLIT); none: default, DEFAULT
// `flag` and `targeting` must outlive the Resolution's pointers and views; pass nullptr when the
// flag's targeting is disabled. Conditions never fail: a missing attribute or one of another type simply does not
// match (docs/flag-model.md). Errors: a split without its attribute, a variant the flag lacks.
Resolution resolve(const Flag& flag, const Targeting* targeting, const SegmentSet& segments,
                   const Context& context) noexcept;
// The Resolution points into the flag's variants: a temporary Flag would leave it dangling.
Resolution resolve(const Flag&& flag, const Targeting* targeting, const SegmentSet& segments,
                   const Context& context) = delete;

// OFREP's errorDetails for an error Resolution, e.g. "rule 2 splits by targetingKey, which the
// context lacks".
std::string error_details(const Resolution& resolution);

}  // namespace toggle::rules
