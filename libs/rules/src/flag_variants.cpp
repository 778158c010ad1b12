// FlagVariants: parse_flag_variants(), to_json() and the accessors.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "echo.hpp"
#include "names.hpp"
#include "toggle/rules/flag.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle::rules {

using nlohmann::json;

struct FlagVariants::Data {
  FlagType type = FlagType::boolean;
  std::vector<Variant> variants;  // sorted by name
  std::size_t default_index = 0, off_index = 0;
  const Variant* true_variant = nullptr;  // boolean flags: first variant holding true / false
  const Variant* false_variant = nullptr;

  Data() = default;
  Data(const Data&) = delete;  // the pointers above point into `variants`
  Data& operator=(const Data&) = delete;

  void index_booleans() {
    if (type != FlagType::boolean) return;
    for (const Variant& v : variants) {
      const Variant*& slot = v.boolean ? true_variant : false_variant;
      if (!slot) slot = &v;
    }
  }
};

namespace {

Variant make_variant(std::string name, json value) {
  Variant v;
  v.name = std::move(name);
  v.value_json = value.dump();
  v.boolean = value.is_boolean() && value.get<bool>();
  v.value = std::make_shared<const json>(std::move(value));
  return v;
}

std::shared_ptr<const FlagVariants::Data> implicit_boolean() {
  static const std::shared_ptr<const FlagVariants::Data> data = [] {
    auto d = std::make_shared<FlagVariants::Data>();
    d->variants.push_back(make_variant("off", false));
    d->variants.push_back(make_variant("on", true));
    d->default_index = 1;
    d->off_index = 0;
    d->index_booleans();
    return std::shared_ptr<const FlagVariants::Data>(std::move(d));
  }();
  return data;
}

std::optional<FlagType> parse_type(std::string_view name) {
  for (FlagType t : {FlagType::boolean, FlagType::string, FlagType::number, FlagType::object})
    if (to_string(t) == name) return t;
  return std::nullopt;
}

const char* type_requirement(FlagType type) {
  switch (type) {
    case FlagType::boolean: return "must be true or false (the flag's type)";
    case FlagType::string: return "must be a string (the flag's type)";
    case FlagType::number: return "must be a number (the flag's type)";
    case FlagType::object: return "must be a JSON object or array (the flag's type)";
  }
  return "";
}

bool has_type(const json& value, FlagType type) {
  switch (type) {
    case FlagType::boolean: return value.is_boolean();
    case FlagType::string: return value.is_string();
    case FlagType::number: return value.is_number() && std::isfinite(value.get<double>());
    case FlagType::object: return value.is_object() || value.is_array();
  }
  return false;
}

// 5.0 -> 5, so that the canonical text does not depend on how a client wrote an integer.
json canonical_number(const json& value) {
  if (!value.is_number_float()) return value;
  const double d = value.get<double>();
  if (std::trunc(d) == d && std::fabs(d) <= 9007199254740992.0) return json(static_cast<std::int64_t>(d));
  return value;
}

// "a, b, c" (at most 10 names, then "…"), for "does not exist (the flag has …)".
std::string name_list(const std::vector<Variant>& variants) {
  std::string out;
  for (std::size_t i = 0; i < variants.size() && i < 10; ++i) out += (i ? ", " : "") + variants[i].name;
  if (variants.size() > 10) out += ", …";
  return out;
}

// Finds default_variant / off_variant by name; `fallback` when the key is absent (boolean flags).
std::optional<std::size_t> pick(const json& j, const char* key, const char* fallback, const FlagVariants::Data& d,
                                std::string& error) {
  std::string name;
  if (auto it = j.find(key); it != j.end()) {
    if (!it->is_string()) {
      error = std::string(key) + ": must be the name of one of the flag's variants";
      return std::nullopt;
    }
    name = it->get<std::string>();
  } else if (d.type == FlagType::boolean) {
    name = fallback;
  } else {
    error = std::string(key) + ": required for a " + std::string(to_string(d.type)) +
            " flag (the name of one of its variants: " + name_list(d.variants) + ")";
    return std::nullopt;
  }
  for (std::size_t i = 0; i < d.variants.size(); ++i)
    if (d.variants[i].name == name) return i;
  error = std::string(key) + ": variant " + detail::quoted(name) + " does not exist (the flag has " +
          name_list(d.variants) + ")";
  return std::nullopt;
}

bool parse_variant_values(const json& variants, FlagVariants::Data& d, std::string& error) {
  if (!variants.is_object()) {
    error = "variants: must be an object of variant name to value, e.g. {\"blue\":\"#00f\"}";
    return false;
  }
  if (variants.empty()) {
    error = "variants: must have at least one variant";
    return false;
  }
  if (variants.size() > kMaxVariants) {
    error = "variants: at most " + std::to_string(kMaxVariants) + " variants (has " +
            std::to_string(variants.size()) + ")";
    return false;
  }
  for (auto it = variants.begin(); it != variants.end(); ++it) {  // std::map order: sorted by name
    if (!detail::is_valid_name(it.key())) {
      error = "variants: " + detail::quoted(it.key()) + " is not a valid variant name (" + detail::kNameRule + ")";
      return false;
    }
    const std::string where = "variants." + it.key();
    if (!has_type(*it, d.type)) {
      error = where + ": " + type_requirement(d.type);
      return false;
    }
    json value = canonical_number(*it);
    std::size_t bytes = 0;
    try {
      bytes = value.dump().size();
    } catch (const json::exception&) {  // only a json built in code can hold invalid UTF-8
      error = where + ": strings must be valid UTF-8";
      return false;
    }
    if (bytes > kMaxVariantValueBytes) {
      error = where + ": at most " + std::to_string(kMaxVariantValueBytes) + " bytes of JSON (has " +
              std::to_string(bytes) + ")";
      return false;
    }
    d.variants.push_back(make_variant(it.key(), std::move(value)));
  }
  return true;
}

}  // namespace

std::string_view to_string(FlagType type) noexcept {
  switch (type) {
    case FlagType::boolean: return "boolean";
    case FlagType::string: return "string";
    case FlagType::number: return "number";
    case FlagType::object: return "object";
  }
  return "boolean";
}

FlagVariants::FlagVariants() : data_(implicit_boolean()) {}

FlagType FlagVariants::type() const noexcept { return data_->type; }
std::span<const Variant> FlagVariants::variants() const noexcept { return data_->variants; }
const Variant& FlagVariants::default_variant() const noexcept { return data_->variants[data_->default_index]; }
const Variant& FlagVariants::off_variant() const noexcept { return data_->variants[data_->off_index]; }
const Variant* FlagVariants::for_boolean(bool value) const noexcept {
  return value ? data_->true_variant : data_->false_variant;
}

const Variant* FlagVariants::find(std::string_view name) const noexcept {
  // Few variants, sorted: a binary search without building a std::string.
  const auto& v = data_->variants;
  auto it = std::lower_bound(v.begin(), v.end(), name, [](const Variant& a, std::string_view n) { return a.name < n; });
  return it != v.end() && it->name == name ? &*it : nullptr;
}

std::optional<json> variant_part_of(const json& record) {
  json part = json::object();
  for (std::string_view key : kFlagVariantKeys)
    if (auto it = record.find(key); it != record.end() && !it->is_null()) part[std::string(key)] = *it;
  if (part.empty()) return std::nullopt;
  return part;
}

std::optional<FlagVariants> parse_flag_variants(const json& j, std::string& error) {
  if (!j.is_object()) {
    error = "a flag's variant part must be a JSON object with type, variants, default_variant and off_variant";
    return std::nullopt;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (std::find(std::begin(kFlagVariantKeys), std::end(kFlagVariantKeys), it.key()) != std::end(kFlagVariantKeys))
      continue;
    error = "unknown key " + detail::quoted(it.key()) + " (a flag has type, variants, default_variant and off_variant)";
    return std::nullopt;
  }
  auto d = std::make_shared<FlagVariants::Data>();
  if (auto it = j.find("type"); it != j.end()) {
    const auto type = it->is_string() ? parse_type(it->get_ref<const std::string&>()) : std::nullopt;
    if (!type) {
      error = "type: must be one of boolean, string, number, object";
      return std::nullopt;
    }
    d->type = *type;
  }
  if (auto it = j.find("variants"); it != j.end()) {
    if (!parse_variant_values(*it, *d, error)) return std::nullopt;
  } else if (d->type == FlagType::boolean) {
    for (const Variant& v : implicit_boolean()->variants) d->variants.push_back(v);
  } else {
    error = "variants: required for a " + std::string(to_string(d->type)) + " flag, e.g. {\"blue\":\"#00f\"}";
    return std::nullopt;
  }
  const auto default_index = pick(j, "default_variant", "on", *d, error);
  if (!default_index) return std::nullopt;
  const auto off_index = pick(j, "off_variant", "off", *d, error);
  if (!off_index) return std::nullopt;
  d->default_index = *default_index;
  d->off_index = *off_index;
  if (d->type == FlagType::boolean && d->variants[d->off_index].boolean) {
    error = "off_variant: must be a variant holding false (a disabled boolean flag serves false); " +
            detail::quoted(d->variants[d->off_index].name) + " holds true";
    return std::nullopt;
  }
  d->index_booleans();
  return FlagVariants(std::move(d));
}

json to_json(const FlagVariants& variants) {
  json values = json::object();
  for (const Variant& v : variants.variants()) values[v.name] = *v.value;
  return {{"type", std::string(to_string(variants.type()))},
          {"variants", std::move(values)},
          {"default_variant", variants.default_variant().name},
          {"off_variant", variants.off_variant().name}};
}

}  // namespace toggle::rules
