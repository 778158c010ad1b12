// resolve(): conditions, segments, splits and the legacy rules, on the compiled model.
// The evaluation path: no allocation, no exception; a condition that cannot apply is false.
#include "toggle/rules/resolve.hpp"

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "bytes.hpp"
#include "legacy.hpp"
#include "model.hpp"
#include "toggle/rules/hash.hpp"
#include "toggle/rules/semver.hpp"

namespace toggle::rules {
namespace {

using detail::Condition;
using detail::Scalar;
using Kind = Attribute::Kind;

bool equals(const Scalar& s, const Attribute& a) noexcept {
  switch (s.kind) {
    case Scalar::Kind::string: return a.kind == Kind::string && detail::same_bytes(a.string, s.string);
    case Scalar::Kind::number: return a.kind == Kind::number && a.number == s.number;
    case Scalar::Kind::boolean: return a.kind == Kind::boolean && a.boolean == s.boolean;
  }
  return false;
}

bool in_list(const Condition& c, const Attribute& a) noexcept {
  switch (a.kind) {
    case Kind::string: {
      const auto it = std::lower_bound(c.sorted_strings.begin(), c.sorted_strings.end(), a.string,
                                       [&](std::uint32_t i, const std::string& s) { return c.values[i].string < s; });
      return it != c.sorted_strings.end() && detail::same_bytes(c.values[*it].string, a.string);
    }
    case Kind::number:  // (binary_search would find a NaN everywhere: every comparison with it is false)
      return !std::isnan(a.number) && std::binary_search(c.sorted_numbers.begin(), c.sorted_numbers.end(), a.number);
    case Kind::boolean: return a.boolean ? c.has_true : c.has_false;
    default: return false;
  }
}

// <0, 0, >0; nullopt when the attribute is not a valid version.
std::optional<int> compare_versions(const Attribute& a, const detail::VersionOperand& operand) noexcept {
  if (a.kind != Kind::string) return std::nullopt;
  const auto version = parse_semver(a.string);
  if (!version) return std::nullopt;
  return compare_semver(*version, operand.parsed);
}

// A positive operator against one value that is not an array. Negative operators (neq, not_in,
// not_exists) and in_segment are decided by holds().
bool test_value(const Condition& c, Operator op, const Attribute& a) noexcept {
  const std::string& operand = c.value.string;
  switch (op) {
    case Operator::eq: return equals(c.value, a);
    case Operator::in: return in_list(c, a);
    case Operator::contains: return a.kind == Kind::string && a.string.find(operand) != std::string::npos;
    case Operator::starts_with: return a.kind == Kind::string && a.string.starts_with(operand);
    case Operator::ends_with: return a.kind == Kind::string && a.string.ends_with(operand);
    case Operator::matches: return a.kind == Kind::string && RE2::PartialMatch(a.string, *c.regex);
    case Operator::lt: return a.kind == Kind::number && a.number < c.value.number;
    case Operator::lte: return a.kind == Kind::number && a.number <= c.value.number;
    case Operator::gt: return a.kind == Kind::number && a.number > c.value.number;
    case Operator::gte: return a.kind == Kind::number && a.number >= c.value.number;
    case Operator::semver_eq: { const auto r = compare_versions(a, *c.version); return r && *r == 0; }
    case Operator::semver_lt: { const auto r = compare_versions(a, *c.version); return r && *r < 0; }
    case Operator::semver_lte: { const auto r = compare_versions(a, *c.version); return r && *r <= 0; }
    case Operator::semver_gt: { const auto r = compare_versions(a, *c.version); return r && *r > 0; }
    case Operator::semver_gte: { const auto r = compare_versions(a, *c.version); return r && *r >= 0; }
    case Operator::before:
    case Operator::after: {
      if (a.kind != Kind::string) return false;
      const auto t = parse_rfc3339(a.string);
      return t && (op == Operator::before ? *t < c.instant : *t > c.instant);
    }
    default: return false;
  }
}

// An array attribute satisfies a positive operator when one of its elements does: "groups eq
// admin" tests membership.
bool test(const Condition& c, Operator op, const Attribute& a) noexcept {
  if (a.kind != Kind::array) return test_value(c, op, a);
  for (const Attribute& item : a.items)
    if (item.kind != Kind::array && test_value(c, op, item)) return true;
  return false;
}

// The context, and the attributes already looked up during this resolve(): rules often test the
// same few attributes. On the stack; only the slots marked in `known_` are read.
class Lookups {
 public:
  Lookups(const Context& context, const SegmentSet& segments) noexcept : context_(context), segments_(segments) {}

  const Attribute* find(const Condition& c) noexcept {
    if (c.slot >= detail::kLookupSlots) return context_.find(c.attribute, c.hash);
    const std::uint64_t bit = std::uint64_t{1} << c.slot;
    if (!(known_ & bit)) {
      found_[c.slot] = context_.find(c.attribute, c.hash);
      known_ |= bit;
    }
    return found_[c.slot];
  }
  const SegmentSet& segments() const noexcept { return segments_; }

 private:
  const Context& context_;
  const SegmentSet& segments_;
  std::uint64_t known_ = 0;
  const Attribute* found_[detail::kLookupSlots];
};

bool all_hold(const detail::Conditions& conditions, Lookups& lookups) noexcept;

bool holds(const Condition& c, Lookups& lookups) noexcept {
  if (c.op == Operator::in_segment) {
    // A segment that no longer exists contains nobody (the services refuse to delete one in use).
    for (const Scalar& name : c.values) {
      const Segment* segment = lookups.segments().find(name.string);
      if (segment && all_hold(detail::Access::data(*segment).conditions, lookups)) return true;
    }
    return false;
  }
  const Attribute* a = lookups.find(c);
  switch (c.op) {
    case Operator::exists: return a != nullptr;
    case Operator::not_exists: return a == nullptr;
    // The negations hold for a present attribute that fails the positive test, whatever its type:
    // plan = 5 is "neq pro". A missing attribute matches no operator but not_exists.
    case Operator::neq: return a && !test(c, Operator::eq, *a);
    case Operator::not_in: return a && !test(c, Operator::in, *a);
    default: return a && test(c, c.op, *a);
  }
}

bool all_hold(const detail::Conditions& conditions, Lookups& lookups) noexcept {
  for (std::uint8_t i : conditions.order)  // cheapest first
    if (!holds(conditions.written[i], lookups)) return false;
  return true;
}

Resolution served(const FlagVariants& variants, const Variant* variant, Reason reason, int rule = -1) noexcept {
  Resolution r;
  r.reason = reason;
  r.rule = rule;
  if (!variant) {  // the rules serve a variant the flag does not have
    r.reason = Reason::error;
    r.error = ErrorCode::general;
    return r;
  }
  r.variant = variant;
  r.result = variants.type() == FlagType::boolean
                 ? variant->boolean
                 : variant != &variants.default_variant() && variant != &variants.off_variant();
  return r;
}

Resolution failed(ErrorCode code, int rule, std::string_view detail) noexcept {
  Resolution r;
  r.error = code;
  r.rule = rule;
  r.detail = detail;
  return r;
}

// Resolution::detail of a legacy rule on a flag without a variant holding its answer. A variant
// name cannot contain a space, so these cannot be mistaken for one.
constexpr std::string_view kLegacyTrue = "legacy true", kLegacyFalse = "legacy false";

Resolution resolve_legacy(const Flag& flag, const Rule& rule, const Context& context) noexcept {
  const auto key = context.targeting_key();
  if (rule.type == RuleType::percentage) {
    if (!key) return failed(ErrorCode::targeting_key_missing, 0, kTargetingKey);
    const bool in = detail::in_percentage(rule.percentage, *key, flag.name);
    Resolution r = served(flag.variants, flag.variants.for_boolean(in), Reason::split, 0);
    if (r.reason == Reason::error) r.detail = in ? kLegacyTrue : kLegacyFalse;
    return r;
  }
  const bool listed = key && rule.contains_user(*key);
  Resolution r = served(flag.variants, flag.variants.for_boolean(listed),
                        listed ? Reason::targeting_match : Reason::no_rule_matched, listed ? 0 : -1);
  if (r.reason == Reason::error) r.detail = listed ? kLegacyTrue : kLegacyFalse;
  return r;
}

// The text a split hashes: a string attribute, or an integer's decimal digits (ids are often
// numbers). Empty when the attribute cannot be bucketed.
std::string_view split_key(const Attribute* a, char (&buffer)[24]) noexcept {
  if (!a) return {};
  if (a->kind == Kind::string) return a->string;
  if (a->kind == Kind::number && std::trunc(a->number) == a->number && std::fabs(a->number) <= 9007199254740992.0) {
    const auto end = std::to_chars(buffer, buffer + sizeof buffer, static_cast<std::int64_t>(a->number)).ptr;
    return {buffer, static_cast<std::size_t>(end - buffer)};
  }
  return {};
}

Resolution resolve_split(const Flag& flag, const detail::Serve& serve, int rule, const Context& context) noexcept {
  char buffer[24];
  const std::string_view key = split_key(context.find(serve.by, serve.by_hash), buffer);
  if (key.empty()) {
    return failed(serve.by == kTargetingKey ? ErrorCode::targeting_key_missing : ErrorCode::invalid_context, rule,
                  serve.by);
  }
  // Cumulative ranges in the split's order: with [a 500, b 9500], buckets 0-499 get a and
  // 500-9999 get b; raising a to 1000 moves 500-999 to a and nobody out of it.
  const std::uint32_t bucket = split_bucket(flag.name, key);
  std::uint32_t end = 0;
  for (const auto& share : serve.split) {
    end += share.weight;
    if (bucket < end) {
      Resolution r = served(flag.variants, flag.variants.find(share.variant), Reason::split, rule);
      if (r.reason == Reason::error) r.detail = share.variant;
      return r;
    }
  }
  return failed(ErrorCode::general, rule, {});  // unreachable: the weights sum to kSplitBuckets
}

}  // namespace

std::string_view to_string(Reason reason) noexcept {
  switch (reason) {
    case Reason::no_targeting: return "STATIC";
    case Reason::targeting_match: return "TARGETING_MATCH";
    case Reason::split: return "SPLIT";
    case Reason::disabled: return "DISABLED";
    case Reason::no_rule_matched: return "DEFAULT";
    case Reason::error: return "ERROR";
  }
  return "ERROR";
}

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::none: return "";
    case ErrorCode::flag_not_found: return "FLAG_NOT_FOUND";
    case ErrorCode::parse_error: return "PARSE_ERROR";
    case ErrorCode::targeting_key_missing: return "TARGETING_KEY_MISSING";
    case ErrorCode::invalid_context: return "INVALID_CONTEXT";
    case ErrorCode::general: return "GENERAL";
  }
  return "GENERAL";
}

Resolution resolve(const Flag& flag, const Targeting* targeting, const SegmentSet& segments,
                   const Context& context) noexcept {
  const FlagVariants& variants = flag.variants;
  if (!flag.enabled) return served(variants, &variants.off_variant(), Reason::disabled);
  if (!targeting) return served(variants, &variants.default_variant(), Reason::no_targeting);
  const auto& data = detail::Access::data(*targeting);
  if (data.kind == Targeting::Kind::legacy) return resolve_legacy(flag, data.legacy, context);
  if (data.rules.empty()) return served(variants, &variants.default_variant(), Reason::no_targeting);

  Lookups lookups(context, segments);
  for (std::size_t i = 0; i < data.rules.size(); ++i) {
    const detail::TargetingRule& rule = data.rules[i];
    if (!all_hold(rule.conditions, lookups)) continue;
    const int index = static_cast<int>(i);
    Resolution r;
    if (rule.serve.split.empty()) {
      r = served(variants, variants.find(rule.serve.variant), Reason::targeting_match, index);
      if (r.reason == Reason::error) r.detail = rule.serve.variant;
    } else {
      r = resolve_split(flag, rule.serve, index, context);
    }
    if (rule.name) r.rule_name = *rule.name;
    return r;
  }
  return served(variants, &variants.default_variant(), Reason::no_rule_matched);
}

std::string error_details(const Resolution& r) {
  const std::string rule = r.rule >= 0 ? "rules[" + std::to_string(r.rule) + "]" : "the rules";
  const std::string detail(r.detail);
  switch (r.error) {
    case ErrorCode::targeting_key_missing:
      return rule + " needs a targetingKey (a non-empty string) to bucket the caller, and the context has none";
    case ErrorCode::invalid_context:
      return rule + " splits by '" + detail + "', which the context lacks or holds as neither a string nor an integer";
    case ErrorCode::general:
      if (r.detail == kLegacyTrue || r.detail == kLegacyFalse)
        return "the legacy rule serves " + detail.substr(7) + ", and none of the flag's variants holds it";
      return rule + " serves variant '" + detail + "', which the flag does not have";
    default: return std::string(to_string(r.error));
  }
}

}  // namespace toggle::rules
