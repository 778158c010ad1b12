// The compiled form of targeting rules and segments, shared by the parser (targeting_json.cpp)
// and the evaluator (resolve.cpp). Private to the library.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "toggle/rules/context.hpp"
#include "toggle/rules/semver.hpp"
#include "toggle/rules/targeting.hpp"
#include "toggle/rules/timestamp.hpp"

namespace re2 {
class RE2;
}

namespace toggle::rules::detail {

// A condition's operand as written: a string, a number or a boolean.
struct Scalar {
  enum class Kind : std::uint8_t { string, number, boolean };
  Kind kind = Kind::string;
  std::string string;
  double number = 0;
  bool boolean = false;
};

// A semver_* operand, parsed once; the views in `parsed` point into `text`, which never moves
// (the operand lives behind a shared_ptr).
struct VersionOperand {
  std::string text;
  SemVer parsed;
};

// resolve() remembers, during one call, the attributes it has looked up: each distinct attribute
// of a targeting gets a slot (the first kLookupSlots of them; segments' conditions get none).
inline constexpr std::uint8_t kLookupSlots = 64;

struct Condition {
  std::string attribute;  // empty for in_segment
  std::uint64_t hash = 0;  // attribute_hash(attribute)
  std::uint8_t slot = kLookupSlots;  // kLookupSlots: not remembered
  Operator op = Operator::eq;
  Scalar value;                 // operators that take `value`
  std::vector<Scalar> values;   // in / not_in / in_segment, in the order written
  // in / not_in lookups: indices of the string operands in `values`, sorted by string, and the
  // numeric operands sorted; whether true / false are among them.
  std::vector<std::uint32_t> sorted_strings;
  std::vector<double> sorted_numbers;
  bool has_true = false, has_false = false;
  std::shared_ptr<const re2::RE2> regex;              // matches
  std::shared_ptr<const VersionOperand> version;      // semver_*
  Timestamp instant;                                  // before / after
};

// The order in which to test a list of conditions: cheapest first (stable, so equal costs keep
// the order written). All conditions of a rule or segment must hold and none has side effects or
// fails, so the order cannot change the answer; it only makes a rule that fails on a cheap
// condition cheap. JSON keeps the order written.
struct Conditions {
  std::vector<Condition> written;
  std::vector<std::uint8_t> order;  // indices into `written` (at most kMaxConditions)
};

struct Serve {
  struct Share {
    std::string variant;
    std::uint32_t weight = 0;  // basis points
  };
  std::string variant;        // when `split` is empty
  std::vector<Share> split;   // weights sum to kSplitTotalWeight
  std::string by = std::string(kTargetingKey);
  std::uint64_t by_hash = attribute_hash(kTargetingKey);
};

struct TargetingRule {
  std::optional<std::string> name;
  Conditions conditions;  // all must hold
  Serve serve;
};

struct TargetingData {
  Targeting::Kind kind = Targeting::Kind::rules;
  Rule legacy;                      // Kind::legacy
  std::vector<TargetingRule> rules;  // Kind::rules
};

struct SegmentData {
  std::string name;
  Conditions conditions;
};

// Reaches the compiled data behind the public handles.
struct Access {
  static const TargetingData& data(const Targeting& t) noexcept { return *t.data_; }
  static const SegmentData& data(const Segment& s) noexcept { return *s.data_; }
  static Targeting make(std::shared_ptr<const TargetingData> data) {
    Targeting t;
    t.data_ = std::move(data);
    return t;
  }
  static Segment make(std::shared_ptr<const SegmentData> data) {
    Segment s;
    s.data_ = std::move(data);
    return s;
  }
};

}  // namespace toggle::rules::detail
