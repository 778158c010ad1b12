// Context: attributes from JSON, flattened to dotted paths and indexed by a precomputable hash.
#include "toggle/rules/context.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "bytes.hpp"

namespace toggle::rules {
namespace {

using nlohmann::json;

std::string depth_error() {
  return "context nests objects or arrays deeper than " + std::to_string(kMaxContextDepth) + " levels";
}

// An element of an array attribute (arrays are not flattened: "groups" holds its elements).
std::optional<Attribute> element(const json& j, std::size_t depth, std::string& error) {
  if (depth > kMaxContextDepth) {
    error = depth_error();
    return std::nullopt;
  }
  switch (j.type()) {
    case json::value_t::string: return Attribute::of_string(j.get<std::string>());
    case json::value_t::boolean: return Attribute::of_boolean(j.get<bool>());
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return Attribute::of_number(j.get<double>());
    case json::value_t::object: return Attribute::of_object();
    case json::value_t::array: {
      std::vector<Attribute> items;
      items.reserve(j.size());
      for (const json& item : j) {
        if (item.is_null()) continue;
        auto a = element(item, depth + 1, error);
        if (!a) return std::nullopt;
        items.push_back(std::move(*a));
      }
      return Attribute::of_array(std::move(items));
    }
    default: return std::nullopt;  // null (dropped by callers) or binary (never from text)
  }
}

}  // namespace

Attribute Attribute::of_string(std::string value) {
  Attribute a;
  a.kind = Kind::string;
  a.string = std::move(value);
  return a;
}
Attribute Attribute::of_number(double value) {
  Attribute a;
  a.kind = Kind::number;
  a.number = value;
  return a;
}
Attribute Attribute::of_boolean(bool value) {
  Attribute a;
  a.kind = Kind::boolean;
  a.boolean = value;
  return a;
}
Attribute Attribute::of_array(std::vector<Attribute> items) {
  Attribute a;
  a.kind = Kind::array;
  a.items = std::move(items);
  return a;
}
Attribute Attribute::of_object() {
  Attribute a;
  a.kind = Kind::object;
  return a;
}

// FNV-1a, 64 bits: short attribute names, computed once per name; only its spread matters.
std::uint64_t attribute_hash(std::string_view name) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::optional<Context> Context::from_json(const json& context, std::string& error) {
  if (!context.is_object()) {
    error = "context must be a JSON object";
    return std::nullopt;
  }
  if (auto key = context.find(kTargetingKey); key != context.end() && !key->is_null() && !key->is_string()) {
    error = "context.targetingKey must be a string";
    return std::nullopt;
  }
  Context out;
  out.entries_.reserve(std::min<std::size_t>(context.size() * 2, kMaxContextAttributes));  // nested members too
  if (!out.flatten(context, "", 0, error)) return std::nullopt;
  out.reindex();
  return out;
}

bool Context::flatten(const json& object, const std::string& prefix, std::size_t depth, std::string& error) {
  if (depth > kMaxContextDepth) {
    error = depth_error();
    return false;
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (it->is_null()) continue;
    std::string name = prefix + it.key();
    if (entries_.size() >= kMaxContextAttributes) {
      error = "context has more than " + std::to_string(kMaxContextAttributes) + " attributes";
      return false;
    }
    if (it->is_object()) {
      put(name, depth, Attribute::of_object());
      if (!flatten(*it, name + ".", depth + 1, error)) return false;
      continue;
    }
    auto value = element(*it, depth + 1, error);
    if (!value) return false;
    put(std::move(name), depth, std::move(*value));
  }
  return true;
}

Context& Context::set(std::string name, Attribute value) {
  put(std::move(name), 0, std::move(value));
  reindex();
  return *this;
}

void Context::put(std::string name, std::size_t depth, Attribute value) {
  const std::uint64_t hash = attribute_hash(name);
  entries_.push_back(Entry{std::move(name), hash, depth, std::move(value)});
}

// Indexes every entry; of two entries with one name the shallower wins, and at equal depth the
// later one (so set() replaces). The loser stays in entries_, unreachable.
void Context::reindex() {
  std::size_t capacity = 8;
  while (capacity < entries_.size() * 2) capacity *= 2;  // at most half full: short probe runs
  slots_.assign(capacity, 0);
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    std::size_t slot = e.hash & (capacity - 1);
    for (; slots_[slot] != 0; slot = (slot + 1) & (capacity - 1)) {
      const Entry& other = entries_[slots_[slot] - 1];
      if (other.hash == e.hash && other.name == e.name) break;
    }
    if (slots_[slot] == 0 || e.depth <= entries_[slots_[slot] - 1].depth) slots_[slot] = static_cast<std::uint32_t>(i + 1);
  }
}

const Attribute* Context::find(std::string_view name, std::uint64_t hash) const noexcept {
  if (slots_.empty()) return nullptr;
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const std::uint32_t index = slots_[slot];
    if (index == 0) return nullptr;
    const Entry& e = entries_[index - 1];
    if (e.hash == hash && detail::same_bytes(e.name, name)) return &e.value;
  }
}

std::optional<std::string_view> Context::targeting_key() const noexcept {
  const Attribute* key = find(kTargetingKey);
  if (!key || key->kind != Attribute::Kind::string || key->string.empty()) return std::nullopt;
  return std::string_view(key->string);
}

}  // namespace toggle::rules
