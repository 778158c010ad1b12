// The evaluation context: who is asking (targetingKey) and what is known about them (attributes),
// as OpenFeature defines it. Built once per request, then read by every flag's evaluation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace toggle::rules {

// Limits on a context from the wire (a request body). Beyond them from_json() refuses the context
// (OFREP's INVALID_CONTEXT) instead of flattening an unbounded tree.
inline constexpr std::size_t kMaxContextAttributes = 1'000;  // after flattening nested objects
inline constexpr std::size_t kMaxContextDepth = 8;           // levels of nested objects / arrays

// The name OpenFeature gives the subject's identifier; splits bucket on it by default.
inline constexpr std::string_view kTargetingKey = "targetingKey";

// One attribute's value. JSON null is not an attribute: a key whose value is null is absent.
struct Attribute {
  enum class Kind : std::uint8_t { string, number, boolean, array, object };
  Kind kind = Kind::string;
  std::string string;            // Kind::string, as UTF-8 bytes
  double number = 0;             // Kind::number (JSON integers too: exact up to 2^53)
  bool boolean = false;          // Kind::boolean
  std::vector<Attribute> items;  // Kind::array: the elements, nulls dropped
  // Kind::object holds nothing here: its members are attributes of their own ("user.plan").

  static Attribute of_string(std::string value);
  static Attribute of_number(double value);
  static Attribute of_boolean(bool value);
  static Attribute of_array(std::vector<Attribute> items);
  static Attribute of_object();
};

// The hash under which a context indexes an attribute name. A condition computes it for its
// attribute once, when it is parsed, so a lookup on the evaluation path costs one probe.
std::uint64_t attribute_hash(std::string_view name) noexcept;

class Context {
 public:
  Context() = default;

  // From an OFREP request's "context" object. Attributes are addressed by name; members of nested
  // objects also by their dotted path: {"user":{"plan":"pro"}} has "user" (an object) and
  // "user.plan" = "pro". When a literal key and a path collide ({"a.b":1,"a":{"b":2}}), the
  // shallower one wins ("a.b" = 1). "targetingKey", when present and not null, must be a string.
  // On error returns nullopt and sets `error` (e.g. "context.targetingKey must be a string").
  static std::optional<Context> from_json(const nlohmann::json& context, std::string& error);

  // Sets (or replaces) one attribute by its full name; for code that builds contexts directly
  // (/evaluate's user_id, tests, benchmarks).
  Context& set(std::string name, Attribute value);

  // The attribute, or nullptr when absent. Does not allocate.
  const Attribute* find(std::string_view name) const noexcept { return find(name, attribute_hash(name)); }
  const Attribute* find(std::string_view name, std::uint64_t hash) const noexcept;

  // targetingKey when it is a non-empty string: splits and the legacy rules treat an empty key
  // as missing (it would put every caller in the same bucket).
  std::optional<std::string_view> targeting_key() const noexcept;

  // Entries stored, collisions' losers included (at most kMaxContextAttributes from JSON).
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    std::string name;
    std::uint64_t hash;
    std::size_t depth;  // 0 for a top-level key: on a collision the shallower entry wins
    Attribute value;
  };
  void put(std::string name, std::size_t depth, Attribute value);  // reindex() decides collisions
  void reindex();
  bool flatten(const nlohmann::json& object, const std::string& prefix, std::size_t depth, std::string& error);

  std::vector<Entry> entries_;
  // Open addressing over entries_: a power-of-two table of entry index + 1 (0 = empty slot).
  std::vector<std::uint32_t> slots_;
};

}  // namespace toggle::rules
