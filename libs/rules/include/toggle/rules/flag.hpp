// The flag model: a flag's type, its named variants, and which variant it serves by default and
// when it is switched off. Today's flags are boolean flags with the implicit variants
// {"on": true, "off": false}, serving "on" by default and "off" when disabled.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace toggle::rules {

inline constexpr std::size_t kMaxVariants = 100;
// Of a variant name: the flag-name alphabet, ^[A-Za-z0-9_.-]{1,100}$ (safe in logs and metrics).
inline constexpr std::size_t kMaxVariantNameLength = 100;
// Of one variant's value, measured as its compact JSON text.
inline constexpr std::size_t kMaxVariantValueBytes = 8 * 1024;

enum class FlagType : std::uint8_t { boolean, string, number, object };

// "boolean", "string", "number", "object": the spelling on the wire.
std::string_view to_string(FlagType type) noexcept;

struct Variant {
  std::string name;
  // The value as JSON (a bool, string, number, or object/array for object flags), shared and
  // immutable; and the same value as compact JSON text, for replies built as text.
  std::shared_ptr<const nlohmann::json> value;
  std::string value_json;
  bool boolean = false;  // the value, for a boolean flag's variants
};

// A flag's variant part. Immutable; copies share the data.
class FlagVariants {
 public:
  // The implicit boolean model: {"on": true, "off": false}, default "on", off "off".
  FlagVariants();

  FlagType type() const noexcept;
  // Sorted by name.
  std::span<const Variant> variants() const noexcept;
  const Variant* find(std::string_view name) const noexcept;
  const Variant& default_variant() const noexcept;  // served when targeting matches nothing
  const Variant& off_variant() const noexcept;      // served when the flag is disabled
  // A boolean flag's first variant (by name) holding `value`; what a legacy PERCENTAGE or
  // USER_LIST rule serves. nullptr for other types, or when no variant holds that value.
  const Variant* for_boolean(bool value) const noexcept;

  struct Data;  // defined in the library

 private:
  friend std::optional<FlagVariants> parse_flag_variants(const nlohmann::json&, std::string&);
  explicit FlagVariants(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  std::shared_ptr<const Data> data_;
};

// The JSON keys of a flag's variant part, for a service that picks them out of a larger body.
inline constexpr std::string_view kFlagVariantKeys[] = {"type", "variants", "default_variant", "off_variant"};

// The variant part a flag record or request body gives: its kFlagVariantKeys, a null value
// counting as not given (as for every optional field); nullopt when it gives none (a flag of the
// seed's model). Not validated: pass it to parse_flag_variants().
std::optional<nlohmann::json> variant_part_of(const nlohmann::json& record);

// Parses and validates a flag's variant part:
//   {"type": "string",                                   optional, default "boolean"
//    "variants": {"blue": "#00f", "red": "#f00"},        optional for boolean flags
//    "default_variant": "blue",                          optional for boolean flags ("on")
//    "off_variant": "red"}                               optional for boolean flags ("off")
// A boolean flag's off variant must hold false (the kill switch serves false). Unknown keys are
// errors. On error returns nullopt and sets `error` to "<field>: <problem>", e.g.
// "variants.blue: must be a string (the flag's type)".
std::optional<FlagVariants> parse_flag_variants(const nlohmann::json& j, std::string& error);

// Canonical JSON, every key explicit, variants sorted by name:
//   {"default_variant":"on","off_variant":"off","type":"boolean","variants":{"off":false,"on":true}}
nlohmann::json to_json(const FlagVariants& variants);

// What the evaluator needs to know about a flag.
struct Flag {
  std::string name;      // salts the splits' buckets
  bool enabled = false;  // the kill switch: disabled serves the off variant
  FlagVariants variants;
};

}  // namespace toggle::rules
