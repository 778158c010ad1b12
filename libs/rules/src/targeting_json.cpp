// The wire format of targeting rules and segments: parse_targeting(), parse_segment(),
// check_targeting() and to_json(). Parsing validates and compiles everything once (RE2 patterns,
// versions, dates, lookup sets) so that evaluation only reads.
#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <utility>

#include "echo.hpp"
#include "model.hpp"
#include "names.hpp"
#include "toggle/rules/semver.hpp"
#include "toggle/rules/targeting.hpp"

namespace toggle::rules {
namespace {

using detail::Condition;
using detail::Scalar;
using detail::Serve;
using detail::TargetingRule;
using nlohmann::json;

// What an operator takes besides its attribute.
enum class Operand : std::uint8_t {
  scalar,    // value: a string, a number or a boolean
  list,      // values: strings, numbers, booleans
  text,      // value: a non-empty string
  pattern,   // value: an RE2 pattern
  number,    // value: a number
  version,   // value: a SemVer version
  instant,   // value: an RFC 3339 date-time
  none,      // nothing
  segments,  // values: segment names (and no attribute)
};

struct OperatorInfo {
  Operator op;
  std::string_view name;
  Operand operand;
};

constexpr OperatorInfo kOperators[] = {
    {Operator::eq, "eq", Operand::scalar},
    {Operator::neq, "neq", Operand::scalar},
    {Operator::in, "in", Operand::list},
    {Operator::not_in, "not_in", Operand::list},
    {Operator::contains, "contains", Operand::text},
    {Operator::starts_with, "starts_with", Operand::text},
    {Operator::ends_with, "ends_with", Operand::text},
    {Operator::matches, "matches", Operand::pattern},
    {Operator::lt, "lt", Operand::number},
    {Operator::lte, "lte", Operand::number},
    {Operator::gt, "gt", Operand::number},
    {Operator::gte, "gte", Operand::number},
    {Operator::semver_eq, "semver_eq", Operand::version},
    {Operator::semver_lt, "semver_lt", Operand::version},
    {Operator::semver_lte, "semver_lte", Operand::version},
    {Operator::semver_gt, "semver_gt", Operand::version},
    {Operator::semver_gte, "semver_gte", Operand::version},
    {Operator::before, "before", Operand::instant},
    {Operator::after, "after", Operand::instant},
    {Operator::exists, "exists", Operand::none},
    {Operator::not_exists, "not_exists", Operand::none},
    {Operator::in_segment, "in_segment", Operand::segments},
};

const OperatorInfo& info(Operator op) {
  for (const auto& i : kOperators)
    if (i.op == op) return i;
  return kOperators[0];  // unreachable: every Operator is in the table
}

std::string operator_list() {
  std::string out;
  for (const auto& i : kOperators) out += (out.empty() ? "" : ", ") + std::string(i.name);
  return out;
}

bool takes_values(Operand o) { return o == Operand::list || o == Operand::segments; }

// Relative cost of testing a condition, for the evaluation order (detail::Conditions). Measured
// on this code: a lookup and a comparison ~10-20 ns; a SemVer or RFC 3339 parse ~20-50 ns; an RE2
// match ~100+ ns; a segment, its own conditions.
int cost(Operator op) {
  switch (info(op).operand) {
    case Operand::none: return 0;
    case Operand::scalar:
    case Operand::number: return 1;
    case Operand::list: return 2;
    case Operand::text: return op == Operator::contains ? 3 : 2;
    case Operand::version:
    case Operand::instant: return 4;
    case Operand::pattern: return 5;
    case Operand::segments: return 6;
  }
  return 6;
}

// Numbers as written, except that integral ones are written as integers (5.0 -> 5).
json number_to_json(double d) {
  if (std::trunc(d) == d && std::fabs(d) <= 9007199254740992.0) return json(static_cast<std::int64_t>(d));
  return json(d);
}

json scalar_to_json(const Scalar& s) {
  switch (s.kind) {
    case Scalar::Kind::string: return s.string;
    case Scalar::Kind::number: return number_to_json(s.number);
    case Scalar::Kind::boolean: return s.boolean;
  }
  return nullptr;
}

std::optional<Scalar> scalar_from_json(const json& j) {
  Scalar s;
  if (j.is_string()) {
    s.kind = Scalar::Kind::string;
    s.string = j.get<std::string>();
  } else if (j.is_boolean()) {
    s.kind = Scalar::Kind::boolean;
    s.boolean = j.get<bool>();
  } else if (j.is_number() && std::isfinite(j.get<double>())) {
    s.kind = Scalar::Kind::number;
    s.number = j.get<double>();
  } else {
    return std::nullopt;
  }
  return s;
}

// An attribute name: 1-256 bytes, no control characters.
bool is_valid_attribute(std::string_view name) {
  if (name.empty() || name.size() > kMaxAttributeNameLength) return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

// RE2's message, made safe to echo: printable ASCII only, bounded.
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text.substr(0, 200)) out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  return out;
}

std::string at(const std::string& path, std::size_t index) { return path + "[" + std::to_string(index) + "]"; }

// One parse of a flag's rules or of a segment: the error, and the budgets shared by all its
// conditions.
class Parser {
 public:
  Parser(std::string& error, bool in_segment) : error_(error), in_segment_(in_segment) {}

  bool conditions(const json* j, const std::string& path, detail::Conditions& out) {
    if (!j) return true;  // absent: no conditions, always holds
    if (!j->is_array()) return fail(path, "must be an array of conditions");
    if (j->size() > kMaxConditions) return fail(path, "at most " + std::to_string(kMaxConditions) + " conditions");
    out.written.reserve(j->size());
    for (std::size_t i = 0; i < j->size(); ++i) {
      Condition c;
      if (!condition((*j)[i], at(path, i), c)) return false;
      out.written.push_back(std::move(c));
      out.order.push_back(static_cast<std::uint8_t>(i));
    }
    std::stable_sort(out.order.begin(), out.order.end(), [&](std::uint8_t a, std::uint8_t b) {
      return cost(out.written[a].op) < cost(out.written[b].op);
    });
    return true;
  }

  bool rule(const json& j, const std::string& path, TargetingRule& out) {
    if (!j.is_object()) return fail(path, R"(must be an object such as {"conditions":[...],"serve":{"variant":"on"}})");
    if (!only_keys(j, path, {"name", "conditions", "serve"}, "a rule has name, conditions and serve")) return false;
    if (auto it = j.find("name"); it != j.end()) {
      if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
          it->get_ref<const std::string&>().size() > kMaxRuleNameLength ||
          !is_valid_attribute(it->get_ref<const std::string&>()))
        return fail(path + ".name", "must be a string of 1-" + std::to_string(kMaxRuleNameLength) +
                                        " characters without control characters");
      out.name = it->get<std::string>();
    }
    const auto conds = j.find("conditions");
    if (!conditions(conds == j.end() ? nullptr : &*conds, path + ".conditions", out.conditions)) return false;
    const auto serve = j.find("serve");
    if (serve == j.end()) return fail(path + ".serve", R"(required: {"variant":"..."} or {"split":[...],"by":"..."})");
    return this->serve(*serve, path + ".serve", out.serve);
  }

  bool fail(const std::string& path, const std::string& problem) {
    error_ = path + ": " + problem;
    return false;
  }

 private:
  bool only_keys(const json& j, const std::string& path, std::initializer_list<std::string_view> keys,
                 const char* what) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end())
        return fail(path, "unknown key " + detail::quoted(it.key()) + " (" + what + ")");
    }
    return true;
  }

  bool attribute_name(const json& j, const std::string& path, std::string& out) {
    if (!j.is_string() || !is_valid_attribute(j.get_ref<const std::string&>()))
      return fail(path, "must be an attribute name: 1-" + std::to_string(kMaxAttributeNameLength) +
                            " bytes without control characters, e.g. \"country\" or \"user.plan\"");
    out = j.get<std::string>();
    return true;
  }

  bool condition(const json& j, const std::string& path, Condition& c) {
    if (!j.is_object())
      return fail(path, R"(must be an object such as {"attribute":"country","operator":"eq","value":"BR"})");
    if (!only_keys(j, path, {"attribute", "operator", "value", "values"},
                   "a condition has attribute, operator, and value or values"))
      return false;
    const auto op_it = j.find("operator");
    if (op_it == j.end()) return fail(path + ".operator", "required, one of " + operator_list());
    const auto op = op_it->is_string() ? parse_operator(op_it->get_ref<const std::string&>()) : std::nullopt;
    if (!op) {
      const std::string shown = op_it->is_string() ? detail::quoted(op_it->get_ref<const std::string&>()) : op_it->type_name();
      return fail(path + ".operator", "unknown operator " + shown + " (one of " + operator_list() + ")");
    }
    c.op = *op;
    const OperatorInfo& oi = info(c.op);

    const auto attr = j.find("attribute");
    if (oi.operand == Operand::segments) {
      if (in_segment_) return fail(path + ".operator", "a segment cannot use in_segment (segments do not nest)");
      if (attr != j.end())
        return fail(path + ".attribute", "in_segment takes no attribute (it tests the whole context against segments)");
    } else {
      if (attr == j.end())
        return fail(path + ".attribute", "required: the name of a context attribute, e.g. \"country\" or \"user.plan\"");
      if (!attribute_name(*attr, path + ".attribute", c.attribute)) return false;
      c.hash = attribute_hash(c.attribute);
    }

    const auto value = j.find("value"), values = j.find("values");
    const std::string name = "'" + std::string(oi.name) + "'";
    if (oi.operand == Operand::none) {
      if (value != j.end() || values != j.end())
        return fail(path + (value != j.end() ? ".value" : ".values"), "operator " + name + " takes no value");
      return true;
    }
    if (takes_values(oi.operand)) {
      if (value != j.end()) return fail(path + ".value", "operator " + name + " takes values (an array), not value");
      if (values == j.end()) return fail(path + ".values", "required by operator " + name);
      return oi.operand == Operand::list ? list(*values, path + ".values", c) : segments(*values, path + ".values", c);
    }
    if (values != j.end()) return fail(path + ".values", "operator " + name + " takes value, not values");
    if (value == j.end()) return fail(path + ".value", "required by operator " + name);
    return single(*value, path + ".value", oi.operand, c);
  }

  bool string_operand(const json& j, const std::string& path, bool allow_empty, std::string& out) {
    if (!j.is_string() || (!allow_empty && j.get_ref<const std::string&>().empty()))
      return fail(path, allow_empty ? "must be a string" : "must be a non-empty string");
    if (j.get_ref<const std::string&>().size() > kMaxStringValueLength)
      return fail(path, "at most " + std::to_string(kMaxStringValueLength) + " bytes");
    out = j.get<std::string>();
    return true;
  }

  bool single(const json& j, const std::string& path, Operand operand, Condition& c) {
    switch (operand) {
      case Operand::scalar: {
        auto s = scalar_from_json(j);
        if (!s) return fail(path, "must be a string, a number or a boolean");
        if (s->kind == Scalar::Kind::string && s->string.size() > kMaxStringValueLength)
          return fail(path, "at most " + std::to_string(kMaxStringValueLength) + " bytes");
        c.value = std::move(*s);
        return true;
      }
      case Operand::text: return string_operand(j, path, false, c.value.string);
      case Operand::number:
        if (!j.is_number() || !std::isfinite(j.get<double>())) return fail(path, "must be a number");
        c.value.kind = Scalar::Kind::number;
        c.value.number = j.get<double>();
        return true;
      case Operand::version: {
        if (!j.is_string() || j.get_ref<const std::string&>().size() > kMaxStringValueLength)
          return fail(path, "must be a SemVer 2.0 version such as 1.2.3, v2.0.0 or 2.1.0-rc.1");
        auto version = std::make_shared<detail::VersionOperand>();
        version->text = j.get<std::string>();
        const auto parsed = parse_semver(version->text);
        if (!parsed) return fail(path, "must be a SemVer 2.0 version such as 1.2.3, v2.0.0 or 2.1.0-rc.1");
        version->parsed = *parsed;
        c.value.string = version->text;
        c.version = std::move(version);
        return true;
      }
      case Operand::instant: {
        const auto t = j.is_string() ? parse_rfc3339(j.get_ref<const std::string&>()) : std::nullopt;
        if (!t) return fail(path, "must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z or 2025-01-31T10:00:00+01:00");
        c.value.string = j.get<std::string>();
        c.instant = *t;
        return true;
      }
      case Operand::pattern: return pattern(j, path, c);
      default: return false;  // list, segments, none: handled by the caller
    }
  }

  bool pattern(const json& j, const std::string& path, Condition& c) {
    if (!j.is_string() || j.get_ref<const std::string&>().empty()) return fail(path, "must be a non-empty RE2 pattern");
    const std::string& text = j.get_ref<const std::string&>();
    if (text.size() > kMaxPatternLength)
      return fail(path, "at most " + std::to_string(kMaxPatternLength) + " bytes of pattern");
    if (++patterns_ > kMaxPatterns)
      return fail(path, "at most " + std::to_string(kMaxPatterns) + " matches conditions per flag or segment");
    RE2::Options options;
    options.set_log_errors(false);
    options.set_never_capture(true);  // matching only answers yes or no
    options.set_max_mem(1 << 20);     // bounds the compiled program and its DFA cache
    auto re = std::make_shared<const RE2>(text, options);
    if (!re->ok()) return fail(path, "RE2 pattern does not compile: " + printable(re->error()));
    c.value.string = text;
    c.regex = std::move(re);
    return true;
  }

  bool count_values(const json& j, const std::string& path, std::size_t max) {
    if (!j.is_array() || j.empty()) return fail(path, "must be a non-empty array");
    if (j.size() > max) return fail(path, "at most " + std::to_string(max) + " values");
    total_values_ += j.size();
    if (total_values_ > kMaxTotalValues)
      return fail(path, "at most " + std::to_string(kMaxTotalValues) + " values in all conditions of a flag or segment");
    return true;
  }

  bool list(const json& j, const std::string& path, Condition& c) {
    if (!count_values(j, path, kMaxConditionValues)) return false;
    c.values.reserve(j.size());
    for (std::size_t i = 0; i < j.size(); ++i) {
      auto s = scalar_from_json(j[i]);
      if (!s) return fail(at(path, i), "must be a string, a number or a boolean");
      if (s->kind == Scalar::Kind::string && s->string.size() > kMaxStringValueLength)
        return fail(at(path, i), "at most " + std::to_string(kMaxStringValueLength) + " bytes");
      c.values.push_back(std::move(*s));
    }
    // Lookup structures: sorted string indices, sorted numbers, the two booleans.
    for (std::uint32_t i = 0; i < c.values.size(); ++i) {
      const Scalar& s = c.values[i];
      if (s.kind == Scalar::Kind::string) c.sorted_strings.push_back(i);
      if (s.kind == Scalar::Kind::number) c.sorted_numbers.push_back(s.number);
      if (s.kind == Scalar::Kind::boolean) (s.boolean ? c.has_true : c.has_false) = true;
    }
    std::sort(c.sorted_strings.begin(), c.sorted_strings.end(),
              [&](std::uint32_t a, std::uint32_t b) { return c.values[a].string < c.values[b].string; });
    std::sort(c.sorted_numbers.begin(), c.sorted_numbers.end());
    return true;
  }

  bool segments(const json& j, const std::string& path, Condition& c) {
    if (!count_values(j, path, kMaxSegmentsPerCondition)) return false;
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (!j[i].is_string() || !detail::is_valid_name(j[i].get_ref<const std::string&>()))
        return fail(at(path, i), std::string("must be a segment name (") + detail::kNameRule + ")");
      Scalar s;
      s.string = j[i].get<std::string>();
      c.values.push_back(std::move(s));
    }
    return true;
  }

  bool serve(const json& j, const std::string& path, Serve& out) {
    if (!j.is_object()) return fail(path, R"(must be {"variant":"..."} or {"split":[...],"by":"..."})");
    if (!only_keys(j, path, {"variant", "split", "by"}, "serve has variant, or split and by")) return false;
    const auto variant = j.find("variant"), split = j.find("split"), by = j.find("by");
    if ((variant == j.end()) == (split == j.end()))
      return fail(path, R"(needs exactly one of variant and split: {"variant":"..."} or {"split":[...]})");
    if (variant != j.end()) {
      if (by != j.end()) return fail(path + ".by", "only a split has by");
      if (!variant->is_string() || !detail::is_valid_name(variant->get_ref<const std::string&>()))
        return fail(path + ".variant", std::string("must be a variant name (") + detail::kNameRule + ")");
      out.variant = variant->get<std::string>();
      return true;
    }
    if (by != j.end()) {
      if (!attribute_name(*by, path + ".by", out.by)) return false;
      out.by_hash = attribute_hash(out.by);
    }
    return shares(*split, path + ".split", out);
  }

  bool shares(const json& j, const std::string& path, Serve& out) {
    if (!j.is_array() || j.empty())
      return fail(path, R"(must be a non-empty array such as [{"variant":"a","weight":5000},{"variant":"b","weight":5000}])");
    if (j.size() > kMaxVariants) return fail(path, "at most " + std::to_string(kMaxVariants) + " variants");
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < j.size(); ++i) {
      const json& share = j[i];
      const std::string where = at(path, i);
      if (!share.is_object()) return fail(where, R"(must be an object such as {"variant":"a","weight":5000})");
      if (!only_keys(share, where, {"variant", "weight"}, "a split entry has variant and weight")) return false;
      const auto variant = share.find("variant"), weight = share.find("weight");
      if (variant == share.end() || !variant->is_string() || !detail::is_valid_name(variant->get_ref<const std::string&>()))
        return fail(where + ".variant", std::string("must be a variant name (") + detail::kNameRule + ")");
      const bool integral = weight != share.end() && (weight->is_number_integer() || weight->is_number_unsigned());
      if (!integral || weight->get<std::int64_t>() < 0 || weight->get<std::int64_t>() > std::int64_t{kSplitTotalWeight})
        return fail(where + ".weight", "must be an integer from 0 to 10000 (basis points: 2500 is 25 %)");
      Serve::Share s{variant->get<std::string>(), static_cast<std::uint32_t>(weight->get<std::int64_t>())};
      for (const auto& earlier : out.split)
        if (earlier.variant == s.variant)
          return fail(where + ".variant", detail::quoted(s.variant) + " appears twice in the split");
      sum += s.weight;
      out.split.push_back(std::move(s));
    }
    if (sum != kSplitTotalWeight)
      return fail(path, "weights sum to " + std::to_string(sum) + ", must be 10000 (100 %, in basis points)");
    return true;
  }

  std::string& error_;
  bool in_segment_;
  std::size_t total_values_ = 0;
  std::size_t patterns_ = 0;
};

json conditions_to_json(const detail::Conditions& conditions) {
  json out = json::array();
  for (const Condition& c : conditions.written) {
    const OperatorInfo& oi = info(c.op);
    json j = {{"operator", std::string(oi.name)}};
    if (oi.operand != Operand::segments) j["attribute"] = c.attribute;
    if (takes_values(oi.operand)) {
      json values = json::array();
      for (const Scalar& s : c.values) values.push_back(scalar_to_json(s));
      j["values"] = std::move(values);
    } else if (oi.operand != Operand::none) {
      j["value"] = scalar_to_json(c.value);
    }
    out.push_back(std::move(j));
  }
  return out;
}

json serve_to_json(const Serve& s) {
  if (s.split.empty()) return {{"variant", s.variant}};
  json split = json::array();
  for (const auto& share : s.split) split.push_back({{"variant", share.variant}, {"weight", share.weight}});
  return {{"split", std::move(split)}, {"by", s.by}};
}

// "a, b" of the flag's variant names, for "does not exist (the flag has ...)".
std::string variant_names(const FlagVariants& variants) {
  std::string out;
  std::size_t n = 0;
  for (const Variant& v : variants.variants()) {
    if (n++ == 10) return out + ", …";
    out += (out.empty() ? "" : ", ") + v.name;
  }
  return out;
}

}  // namespace

std::string_view to_string(Operator op) noexcept { return info(op).name; }

std::optional<Operator> parse_operator(std::string_view name) noexcept {
  for (const auto& i : kOperators)
    if (i.name == name) return i.op;
  return std::nullopt;
}

// --- Segment, SegmentSet -------------------------------------------------------------------

const std::string& Segment::name() const noexcept { return data_->name; }

std::optional<Segment> parse_segment(const json& j, std::string& error) {
  Parser parser(error, true);
  if (!j.is_object()) {
    error = R"(a segment must be a JSON object such as {"name":"beta-testers","conditions":[...]})";
    return std::nullopt;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "name" || it.key() == "conditions") continue;
    error = "unknown key " + detail::quoted(it.key()) + " (a segment has name and conditions)";
    return std::nullopt;
  }
  auto data = std::make_shared<detail::SegmentData>();
  const auto name = j.find("name");
  if (name == j.end() || !name->is_string() || !detail::is_valid_name(name->get_ref<const std::string&>())) {
    error = std::string("name: must be a segment name (") + detail::kNameRule + ")";
    return std::nullopt;
  }
  data->name = name->get<std::string>();
  const auto conditions = j.find("conditions");
  if (!parser.conditions(conditions == j.end() ? nullptr : &*conditions, "conditions", data->conditions))
    return std::nullopt;
  return detail::Access::make(std::shared_ptr<const detail::SegmentData>(std::move(data)));
}

json to_json(const Segment& segment) {
  const auto& d = detail::Access::data(segment);
  return {{"name", d.name}, {"conditions", conditions_to_json(d.conditions)}};
}

struct SegmentSet::Data {
  std::unordered_map<std::string, Segment, StringHash, std::equal_to<>> by_name;
};

SegmentSet::SegmentSet() {
  static const auto empty = std::make_shared<const Data>();
  data_ = empty;
}

SegmentSet::SegmentSet(std::vector<Segment> segments) {
  auto d = std::make_shared<Data>();
  for (Segment& s : segments) d->by_name.insert_or_assign(s.name(), std::move(s));
  data_ = std::move(d);
}

const Segment* SegmentSet::find(std::string_view name) const noexcept {
  const auto it = data_->by_name.find(name);
  return it == data_->by_name.end() ? nullptr : &it->second;
}

std::size_t SegmentSet::size() const noexcept { return data_->by_name.size(); }

// --- Targeting ---------------------------------------------------------------------------

Targeting::Targeting(Rule legacy) {
  auto d = std::make_shared<detail::TargetingData>();
  d->kind = Kind::legacy;
  d->legacy = std::move(legacy);
  data_ = std::move(d);
}

Targeting::Kind Targeting::kind() const noexcept { return data_->kind; }
const Rule* Targeting::legacy_rule() const noexcept { return data_->kind == Kind::legacy ? &data_->legacy : nullptr; }
std::size_t Targeting::rule_count() const noexcept { return data_->rules.size(); }

std::vector<std::string> Targeting::segments_used() const {
  std::set<std::string> names;
  for (const auto& r : data_->rules)
    for (const auto& c : r.conditions.written)
      if (c.op == Operator::in_segment)
        for (const auto& s : c.values) names.insert(s.string);
  return {names.begin(), names.end()};
}

std::vector<std::string> Targeting::variants_served() const {
  std::set<std::string> names;
  for (const auto& r : data_->rules) {
    if (r.serve.split.empty()) names.insert(r.serve.variant);
    for (const auto& share : r.serve.split) names.insert(share.variant);
  }
  return {names.begin(), names.end()};
}

std::optional<Targeting> parse_targeting(const json& rules, std::string& error) {
  if (rules.is_object()) {
    auto legacy = parse_rule(rules, error);
    if (!legacy) return std::nullopt;
    return Targeting(std::move(*legacy));
  }
  if (!rules.is_array()) {
    error = R"(rules must be an array of rules such as [{"conditions":[...],"serve":{"variant":"on"}}], )"
            R"(or a legacy rule such as {"type":"PERCENTAGE","value":50})";
    return std::nullopt;
  }
  Parser parser(error, false);
  if (rules.size() > kMaxRules) {
    parser.fail("rules", "at most " + std::to_string(kMaxRules) + " rules");
    return std::nullopt;
  }
  auto data = std::make_shared<detail::TargetingData>();
  data->kind = Targeting::Kind::rules;
  data->rules.reserve(rules.size());
  std::unordered_map<std::string, std::uint8_t> slots;  // attribute -> lookup slot
  for (std::size_t i = 0; i < rules.size(); ++i) {
    TargetingRule r;
    if (!parser.rule(rules[i], at("rules", i), r)) return std::nullopt;
    for (Condition& c : r.conditions.written) {
      if (c.attribute.empty()) continue;  // in_segment
      auto [it, added] = slots.try_emplace(c.attribute, static_cast<std::uint8_t>(slots.size()));
      if (added && slots.size() > detail::kLookupSlots) {  // beyond the slots: looked up each time
        slots.erase(it);
        continue;
      }
      c.slot = it->second;
    }
    data->rules.push_back(std::move(r));
  }
  return detail::Access::make(std::shared_ptr<const detail::TargetingData>(std::move(data)));
}

bool check_targeting(const Targeting& targeting, const FlagVariants* variants,
                     const std::function<bool(std::string_view)>& segment_exists, std::string& error) {
  const auto& d = detail::Access::data(targeting);
  if (d.kind == Targeting::Kind::legacy) {
    if (!variants) return true;
    const std::string rule = std::string(to_string(d.legacy.type));
    if (variants->type() != FlagType::boolean) {
      error = "rules: a " + rule + " rule serves true or false, and this flag is a " +
              std::string(to_string(variants->type())) + " flag (use an array of rules, with a split)";
      return false;
    }
    if (!variants->for_boolean(true)) {
      error = "rules: a " + rule + " rule serves true, and none of the flag's variants holds true";
      return false;
    }
    return true;
  }
  auto missing_variant = [&](const std::string& path, const std::string& name) {
    if (!variants || variants->find(name)) return false;
    error = path + ": variant " + detail::quoted(name) + " does not exist (the flag has " + variant_names(*variants) + ")";
    return true;
  };
  for (std::size_t i = 0; i < d.rules.size(); ++i) {
    const auto& r = d.rules[i];
    const std::string path = at("rules", i);
    if (segment_exists) {
      for (std::size_t k = 0; k < r.conditions.written.size(); ++k) {
        const auto& c = r.conditions.written[k];
        if (c.op != Operator::in_segment) continue;
        for (std::size_t v = 0; v < c.values.size(); ++v) {
          if (segment_exists(c.values[v].string)) continue;
          error = at(at(path + ".conditions", k) + ".values", v) + ": segment " + detail::quoted(c.values[v].string) +
                  " does not exist";
          return false;
        }
      }
    }
    if (r.serve.split.empty() && missing_variant(path + ".serve.variant", r.serve.variant)) return false;
    for (std::size_t s = 0; s < r.serve.split.size(); ++s)
      if (missing_variant(at(path + ".serve.split", s) + ".variant", r.serve.split[s].variant)) return false;
  }
  return true;
}

json to_json(const Targeting& targeting) {
  const auto& d = detail::Access::data(targeting);
  if (d.kind == Targeting::Kind::legacy) return to_json(d.legacy);
  json out = json::array();
  for (const auto& r : d.rules) {
    json j = {{"conditions", conditions_to_json(r.conditions)}, {"serve", serve_to_json(r.serve)}};
    if (r.name) j["name"] = *r.name;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace toggle::rules
