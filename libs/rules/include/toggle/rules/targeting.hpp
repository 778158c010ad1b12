// Targeting: a flag's ordered rules (conditions on the evaluation context, then a variant or a
// percentage split to serve), reusable segments, and their wire format. The legacy PERCENTAGE /
// USER_LIST rule (rules.hpp) is one kind of targeting, kept exactly as it was.
//
// Everything is validated and compiled once, when parsed (regular expressions, versions, dates,
// lookup sets), so that evaluation (resolve.hpp) only reads. docs/flag-model.md describes the
// JSON, the operators' semantics and the limits below.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/rules/flag.hpp"
#include "toggle/rules/hash.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle::rules {

// Limits, checked on write.
inline constexpr std::size_t kMaxRules = 100;                 // rules per flag
inline constexpr std::size_t kMaxConditions = 20;             // conditions per rule or segment
inline constexpr std::size_t kMaxConditionValues = 10'000;    // `values` of one in / not_in
inline constexpr std::size_t kMaxTotalValues = 10'000;        // `values`, all conditions of a flag or segment
inline constexpr std::size_t kMaxSegmentsPerCondition = 100;  // `values` of one in_segment
inline constexpr std::size_t kMaxStringValueLength = 256;     // bytes of a string operand
inline constexpr std::size_t kMaxPatternLength = 256;         // bytes of an RE2 pattern
inline constexpr std::size_t kMaxPatterns = 50;               // `matches` conditions per flag or segment
inline constexpr std::size_t kMaxAttributeNameLength = 256;   // bytes of an attribute name
inline constexpr std::size_t kMaxRuleNameLength = 100;        // bytes of a rule's optional name
inline constexpr std::size_t kMaxSegments = 1'000;            // segments in a targeting-service
inline constexpr std::size_t kSplitTotalWeight = kSplitBuckets;  // split weights, basis points: their sum

enum class Operator : std::uint8_t {
  eq, neq, in, not_in,                                       // equality: strings, numbers, booleans
  contains, starts_with, ends_with, matches,                 // strings (matches: RE2, partial match)
  lt, lte, gt, gte,                                          // numbers
  semver_eq, semver_lt, semver_lte, semver_gt, semver_gte,   // SemVer 2.0 precedence
  before, after,                                             // RFC 3339 instants
  exists, not_exists,                                        // presence
  in_segment,                                                // the context is in one of the segments
};

// The wire spelling ("eq", "starts_with", "in_segment", ...), and back.
std::string_view to_string(Operator op) noexcept;
std::optional<Operator> parse_operator(std::string_view name) noexcept;

namespace detail {
struct TargetingData;
struct SegmentData;
struct Access;
}  // namespace detail

// A named, reusable set of conditions (all must hold). Immutable; copies share the data.
class Segment {
 public:
  const std::string& name() const noexcept;

 private:
  friend struct detail::Access;
  Segment() = default;  // only parse_segment() makes segments
  std::shared_ptr<const detail::SegmentData> data_;
};

// {"name":"beta-testers","conditions":[...]}: name in the flag-name alphabet, conditions as in a
// rule's, except in_segment (segments do not nest, so they cannot form cycles). Errors are
// "<field>: <problem>", e.g. "conditions[0].operator: unknown operator 'equals' (one of ...)".
std::optional<Segment> parse_segment(const nlohmann::json& j, std::string& error);
// Canonical JSON: {"conditions":[...],"name":"beta-testers"}.
nlohmann::json to_json(const Segment& segment);

// The segments that exist, by name. Immutable; copies share the data.
class SegmentSet {
 public:
  SegmentSet();
  explicit SegmentSet(std::vector<Segment> segments);  // a later segment replaces an earlier namesake
  const Segment* find(std::string_view name) const noexcept;
  std::size_t size() const noexcept;

 private:
  struct Data;
  std::shared_ptr<const Data> data_;
};

// A flag's targeting: the legacy rule, or an ordered list of rules (first match wins).
// Immutable; copies share the data.
class Targeting {
 public:
  enum class Kind : std::uint8_t { legacy, rules };

  // Wraps a legacy rule (what parse_rule() returns).
  explicit Targeting(Rule legacy);

  Kind kind() const noexcept;
  const Rule* legacy_rule() const noexcept;  // nullptr for Kind::rules
  std::size_t rule_count() const noexcept;   // 0 for Kind::legacy
  // What the rules refer to, sorted and unique: to refuse deleting a segment or a variant that a
  // flag's targeting still uses.
  std::vector<std::string> segments_used() const;
  std::vector<std::string> variants_served() const;

 private:
  friend struct detail::Access;
  Targeting() = default;
  std::shared_ptr<const detail::TargetingData> data_;
};

// Parses a rule record's "rules" field:
//   - a JSON object: the legacy rule, exactly as parse_rule() (same errors);
//   - a JSON array: ordered rules [{"name"?, "conditions"?: [...], "serve": {...}}, ...].
// Validates everything that does not depend on other objects; check_targeting() does the rest.
// Errors are "<path>: <problem>", e.g.
//   "rules[2].conditions[0].operator: unknown operator 'equals' (one of eq, neq, ...)"
//   "rules[0].serve.split: weights sum to 9000, must be 10000"
std::optional<Targeting> parse_targeting(const nlohmann::json& rules, std::string& error);

// Checks a parsed targeting against what it refers to, on write:
//   - with `variants`: every variant it serves exists, and legacy rules only on boolean flags
//     whose variants hold both true and false;
//   - with `segment_exists`: every in_segment name exists ("rules[0].conditions[1].values[0]:
//     segment 'beta' does not exist").
// Pass nullptr / an empty function to skip a check.
bool check_targeting(const Targeting& targeting, const FlagVariants* variants,
                     const std::function<bool(std::string_view)>& segment_exists, std::string& error);

// Canonical JSON: the legacy rule as to_json(Rule); rules as an array, each rule
// {"conditions":[...],"name"?:...,"serve":{...}}, each condition
// {"attribute":...,"operator":...,"value"|"values":...}, splits with "by" always present. Values
// keep the order written; integral numbers are written as integers.
nlohmann::json to_json(const Targeting& targeting);

}  // namespace toggle::rules
