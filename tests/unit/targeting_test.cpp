// Targeting rules and segments on the wire: parsing, validation errors, checks against the flag
// and the segments, canonical JSON.
#include "toggle/rules/targeting.hpp"

#include <gtest/gtest.h>

#include "toggle/rules/resolve.hpp"

#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace toggle::rules;
using nlohmann::json;

Targeting parse(const json& j) {
  std::string error;
  auto t = parse_targeting(j, error);
  EXPECT_TRUE(t) << j.dump() << ": " << error;
  return t.value_or(Targeting(percentage_rule(0)));
}

std::string reject(const json& j) {
  std::string error;
  EXPECT_FALSE(parse_targeting(j, error)) << j.dump();
  return error;
}

// One rule whose only condition is `condition`.
json with_condition(const json& condition) {
  return json::array({{{"conditions", json::array({condition})}, {"serve", {{"variant", "on"}}}}});
}

TEST(ParseTargeting, LegacyRulesPassThroughUnchanged) {
  const Targeting t = parse(json::parse(R"({"type":"PERCENTAGE","value":50})"));
  EXPECT_EQ(t.kind(), Targeting::Kind::legacy);
  ASSERT_TRUE(t.legacy_rule());
  EXPECT_EQ(t.legacy_rule()->percentage, 50);
  EXPECT_EQ(to_json(t).dump(), R"({"type":"PERCENTAGE","value":50})");
  EXPECT_EQ(to_json(parse(json::parse(R"({"type":"USER_LIST","values":["b","a"]})"))).dump(),
            R"({"type":"USER_LIST","values":["b","a"]})");
  // The same errors as parse_rule().
  EXPECT_EQ(reject(json::parse(R"({"type":"GEO"})")), "rules.type must be one of PERCENTAGE, USER_LIST");
  EXPECT_EQ(reject(json::parse(R"({"type":"PERCENTAGE","value":101})")), "rules.value must be a number between 0 and 100");
}

TEST(ParseTargeting, NeitherObjectNorArray) {
  for (const json& j : {json(nullptr), json("x"), json(1), json(true)}) {
    EXPECT_EQ(reject(j),
              R"(rules must be an array of rules such as [{"conditions":[...],"serve":{"variant":"on"}}], )"
              R"(or a legacy rule such as {"type":"PERCENTAGE","value":50})");
  }
}

TEST(ParseTargeting, EveryOperatorInItsCanonicalForm) {
  const char* text = R"([
    {"name":"everything","conditions":[
      {"attribute":"country","operator":"eq","value":"BR"},
      {"attribute":"age","operator":"neq","value":30},
      {"attribute":"beta","operator":"eq","value":true},
      {"attribute":"plan","operator":"in","values":["pro","team",3,false]},
      {"attribute":"plan","operator":"not_in","values":["free"]},
      {"attribute":"email","operator":"contains","value":"@"},
      {"attribute":"email","operator":"starts_with","value":"ana"},
      {"attribute":"email","operator":"ends_with","value":"@example.com"},
      {"attribute":"email","operator":"matches","value":"^[a-z]+@example\\.com$"},
      {"attribute":"age","operator":"lt","value":65},
      {"attribute":"age","operator":"lte","value":64.5},
      {"attribute":"age","operator":"gt","value":-1},
      {"attribute":"age","operator":"gte","value":18},
      {"attribute":"app.version","operator":"semver_eq","value":"1.2.3"},
      {"attribute":"app.version","operator":"semver_lt","value":"v2.0.0"},
      {"attribute":"app.version","operator":"semver_lte","value":"2.0.0-rc.1"},
      {"attribute":"app.version","operator":"semver_gt","value":"1.0.0"},
      {"attribute":"app.version","operator":"semver_gte","value":"1.0.0+build"},
      {"attribute":"signup","operator":"before","value":"2025-01-31T10:00:00+01:00"},
      {"attribute":"signup","operator":"after","value":"2020-01-01T00:00:00Z"}
    ],"serve":{"variant":"on"}},
    {"conditions":[
      {"attribute":"email","operator":"exists"},
      {"attribute":"banned","operator":"not_exists"},
      {"operator":"in_segment","values":["beta-testers","staff"]}
    ],"serve":{"split":[{"variant":"on","weight":2500},{"variant":"off","weight":7500}],"by":"companyId"}},
    {"serve":{"split":[{"variant":"on","weight":10000}]}}
  ])";
  const Targeting t = parse(json::parse(text));
  EXPECT_EQ(t.kind(), Targeting::Kind::rules);
  EXPECT_EQ(t.rule_count(), 3u);
  EXPECT_EQ(t.legacy_rule(), nullptr);
  EXPECT_EQ(t.segments_used(), (std::vector<std::string>{"beta-testers", "staff"}));
  EXPECT_EQ(t.variants_served(), (std::vector<std::string>{"off", "on"}));

  const json out = to_json(t);
  // Keys sorted, "conditions" and "by" always present, values in the order written.
  EXPECT_EQ(out[0]["conditions"][0].dump(), R"({"attribute":"country","operator":"eq","value":"BR"})");
  EXPECT_EQ(out[0]["conditions"][3].dump(), R"({"attribute":"plan","operator":"in","values":["pro","team",3,false]})");
  EXPECT_EQ(out[0]["conditions"][10]["value"].dump(), "64.5");
  EXPECT_EQ(out[0]["name"], "everything");
  EXPECT_EQ(out[1]["conditions"][0].dump(), R"({"attribute":"email","operator":"exists"})");
  EXPECT_EQ(out[1]["conditions"][2].dump(), R"({"operator":"in_segment","values":["beta-testers","staff"]})");
  EXPECT_EQ(out[1]["serve"].dump(),
            R"({"by":"companyId","split":[{"variant":"on","weight":2500},{"variant":"off","weight":7500}]})");
  EXPECT_EQ(out[2].dump(), R"({"conditions":[],"serve":{"by":"targetingKey","split":[{"variant":"on","weight":10000}]}})");
  EXPECT_FALSE(out[1].contains("name"));
  // Canonical text is a fixed point, and parsing it back gives the same rules.
  EXPECT_EQ(to_json(parse(out)).dump(), out.dump());
  // Every operator of the enum appears in this test once: 20 + 3.
  std::set<std::string> seen;
  for (const auto& rule : out)
    for (const auto& c : rule["conditions"]) seen.insert(c["operator"].get<std::string>());
  EXPECT_EQ(seen.size(), 22u);
}

TEST(ParseTargeting, NumbersAreCanonicalised) {
  const json out = to_json(parse(with_condition(json::parse(R"({"attribute":"n","operator":"lt","value":5.0})"))));
  EXPECT_EQ(out[0]["conditions"][0]["value"].dump(), "5");
}

TEST(ParseTargeting, EmptyListsAndAbsentConditions) {
  EXPECT_EQ(parse(json::array()).rule_count(), 0u);
  EXPECT_EQ(to_json(parse(json::array())).dump(), "[]");
  EXPECT_EQ(to_json(parse(json::parse(R"([{"conditions":[],"serve":{"variant":"on"}}])"))).dump(),
            R"([{"conditions":[],"serve":{"variant":"on"}}])");
}

TEST(ParseTargeting, OperatorNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(Operator::in_segment); ++i) {
    const auto op = static_cast<Operator>(i);
    EXPECT_EQ(parse_operator(to_string(op)), op) << to_string(op);
  }
  EXPECT_FALSE(parse_operator("equals"));
  EXPECT_FALSE(parse_operator("EQ"));
}

const std::string kOperators =
    "eq, neq, in, not_in, contains, starts_with, ends_with, matches, lt, lte, gt, gte, semver_eq, semver_lt, "
    "semver_lte, semver_gt, semver_gte, before, after, exists, not_exists, in_segment";

struct RejectCase {
  const char* name;
  json input;
  std::string error;
};

json rules_of(const char* text) { return json::parse(text); }

std::vector<RejectCase> reject_cases() {
  json many_rules = json::array();
  for (std::size_t i = 0; i <= kMaxRules; ++i) many_rules.push_back({{"serve", {{"variant", "on"}}}});
  json many_conditions = json::array();
  for (std::size_t i = 0; i <= kMaxConditions; ++i) many_conditions.push_back({{"attribute", "a"}, {"operator", "exists"}});
  json many_values = json::array();
  for (std::size_t i = 0; i <= kMaxConditionValues; ++i) many_values.push_back("v" + std::to_string(i));
  json half_values = json::array();
  for (std::size_t i = 0; i < kMaxTotalValues / 2 + 1; ++i) half_values.push_back(static_cast<int>(i));
  json many_patterns = json::array();
  for (std::size_t i = 0; i <= kMaxPatterns; ++i) many_patterns.push_back({{"attribute", "a"}, {"operator", "matches"}, {"value", "x"}});
  json many_segments = json::array();
  for (std::size_t i = 0; i <= kMaxSegmentsPerCondition; ++i) many_segments.push_back("s" + std::to_string(i));
  const std::string long_string(kMaxStringValueLength + 1, 'x');
  const std::string long_pattern(kMaxPatternLength + 1, 'x');

  return {
      {"too many rules", many_rules, "rules: at most 100 rules"},
      {"rule not an object", json::array({"x"}),
       R"(rules[0]: must be an object such as {"conditions":[...],"serve":{"variant":"on"}})"},
      {"unknown rule key", rules_of(R"([{"serve":{"variant":"on"}},{"serve":{"variant":"on"},"when":[]}])"),
       "rules[1]: unknown key 'when' (a rule has name, conditions and serve)"},
      {"name not a string", rules_of(R"([{"name":1,"serve":{"variant":"on"}}])"),
       "rules[0].name: must be a string of 1-100 characters without control characters"},
      {"empty name", rules_of(R"([{"name":"","serve":{"variant":"on"}}])"),
       "rules[0].name: must be a string of 1-100 characters without control characters"},
      {"conditions not an array", rules_of(R"([{"conditions":{},"serve":{"variant":"on"}}])"),
       "rules[0].conditions: must be an array of conditions"},
      {"too many conditions", json::array({{{"conditions", many_conditions}, {"serve", {{"variant", "on"}}}}}),
       "rules[0].conditions: at most 20 conditions"},
      {"missing serve", rules_of(R"([{"conditions":[]}])"),
       R"(rules[0].serve: required: {"variant":"..."} or {"split":[...],"by":"..."})"},
      // conditions
      {"condition not an object", with_condition("country"),
       R"(rules[0].conditions[0]: must be an object such as {"attribute":"country","operator":"eq","value":"BR"})"},
      {"unknown condition key", with_condition({{"attribute", "a"}, {"operator", "eq"}, {"value", 1}, {"negate", true}}),
       "rules[0].conditions[0]: unknown key 'negate' (a condition has attribute, operator, and value or values)"},
      {"missing operator", with_condition({{"attribute", "a"}, {"value", 1}}),
       "rules[0].conditions[0].operator: required, one of " + kOperators},
      {"unknown operator", with_condition({{"attribute", "a"}, {"operator", "equals"}, {"value", 1}}),
       "rules[0].conditions[0].operator: unknown operator 'equals' (one of " + kOperators + ")"},
      {"operator not a string", with_condition({{"attribute", "a"}, {"operator", 3}, {"value", 1}}),
       "rules[0].conditions[0].operator: unknown operator number (one of " + kOperators + ")"},
      {"missing attribute", with_condition({{"operator", "eq"}, {"value", 1}}),
       "rules[0].conditions[0].attribute: required: the name of a context attribute, e.g. \"country\" or \"user.plan\""},
      {"empty attribute", with_condition({{"attribute", ""}, {"operator", "eq"}, {"value", 1}}),
       "rules[0].conditions[0].attribute: must be an attribute name: 1-256 bytes without control characters, e.g. "
       "\"country\" or \"user.plan\""},
      {"attribute with a newline", with_condition({{"attribute", "a\nb"}, {"operator", "exists"}}),
       "rules[0].conditions[0].attribute: must be an attribute name: 1-256 bytes without control characters, e.g. "
       "\"country\" or \"user.plan\""},
      {"attribute on in_segment", with_condition({{"attribute", "a"}, {"operator", "in_segment"}, {"values", {"s"}}}),
       "rules[0].conditions[0].attribute: in_segment takes no attribute (it tests the whole context against segments)"},
      {"missing value", with_condition({{"attribute", "a"}, {"operator", "eq"}}),
       "rules[0].conditions[0].value: required by operator 'eq'"},
      {"values for eq", with_condition({{"attribute", "a"}, {"operator", "eq"}, {"values", {"x"}}}),
       "rules[0].conditions[0].values: operator 'eq' takes value, not values"},
      {"value for in", with_condition({{"attribute", "a"}, {"operator", "in"}, {"value", "x"}}),
       "rules[0].conditions[0].value: operator 'in' takes values (an array), not value"},
      {"missing values", with_condition({{"attribute", "a"}, {"operator", "not_in"}}),
       "rules[0].conditions[0].values: required by operator 'not_in'"},
      {"value for exists", with_condition({{"attribute", "a"}, {"operator", "exists"}, {"value", true}}),
       "rules[0].conditions[0].value: operator 'exists' takes no value"},
      {"eq null", with_condition({{"attribute", "a"}, {"operator", "eq"}, {"value", nullptr}}),
       "rules[0].conditions[0].value: must be a string, a number or a boolean"},
      {"eq object", with_condition({{"attribute", "a"}, {"operator", "eq"}, {"value", json::object()}}),
       "rules[0].conditions[0].value: must be a string, a number or a boolean"},
      {"eq too long", with_condition({{"attribute", "a"}, {"operator", "eq"}, {"value", long_string}}),
       "rules[0].conditions[0].value: at most 256 bytes"},
      {"in not an array", with_condition({{"attribute", "a"}, {"operator", "in"}, {"values", "x"}}),
       "rules[0].conditions[0].values: must be a non-empty array"},
      {"in empty", with_condition({{"attribute", "a"}, {"operator", "in"}, {"values", json::array()}}),
       "rules[0].conditions[0].values: must be a non-empty array"},
      {"in with null", with_condition({{"attribute", "a"}, {"operator", "in"}, {"values", {"x", nullptr}}}),
       "rules[0].conditions[0].values[1]: must be a string, a number or a boolean"},
      {"in with a long string", with_condition({{"attribute", "a"}, {"operator", "in"}, {"values", {long_string}}}),
       "rules[0].conditions[0].values[0]: at most 256 bytes"},
      {"in too many", with_condition({{"attribute", "a"}, {"operator", "in"}, {"values", many_values}}),
       "rules[0].conditions[0].values: at most 10000 values"},
      {"too many values in all",
       json::array({{{"conditions", json::array({{{"attribute", "a"}, {"operator", "in"}, {"values", half_values}},
                                                 {{"attribute", "b"}, {"operator", "in"}, {"values", half_values}}})},
                     {"serve", {{"variant", "on"}}}}}),
       "rules[0].conditions[1].values: at most 10000 values in all conditions of a flag or segment"},
      {"contains a number", with_condition({{"attribute", "a"}, {"operator", "contains"}, {"value", 1}}),
       "rules[0].conditions[0].value: must be a non-empty string"},
      {"starts_with empty", with_condition({{"attribute", "a"}, {"operator", "starts_with"}, {"value", ""}}),
       "rules[0].conditions[0].value: must be a non-empty string"},
      {"ends_with too long", with_condition({{"attribute", "a"}, {"operator", "ends_with"}, {"value", long_string}}),
       "rules[0].conditions[0].value: at most 256 bytes"},
      {"lt a string", with_condition({{"attribute", "a"}, {"operator", "lt"}, {"value", "5"}}),
       "rules[0].conditions[0].value: must be a number"},
      {"gte a boolean", with_condition({{"attribute", "a"}, {"operator", "gte"}, {"value", true}}),
       "rules[0].conditions[0].value: must be a number"},
      {"semver invalid", with_condition({{"attribute", "a"}, {"operator", "semver_gt"}, {"value", "1.2"}}),
       "rules[0].conditions[0].value: must be a SemVer 2.0 version such as 1.2.3, v2.0.0 or 2.1.0-rc.1"},
      {"semver a number", with_condition({{"attribute", "a"}, {"operator", "semver_eq"}, {"value", 1}}),
       "rules[0].conditions[0].value: must be a SemVer 2.0 version such as 1.2.3, v2.0.0 or 2.1.0-rc.1"},
      {"before a date", with_condition({{"attribute", "a"}, {"operator", "before"}, {"value", "2025-01-31"}}),
       "rules[0].conditions[0].value: must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z or "
       "2025-01-31T10:00:00+01:00"},
      {"after a number", with_condition({{"attribute", "a"}, {"operator", "after"}, {"value", 1735689600}}),
       "rules[0].conditions[0].value: must be an RFC 3339 date-time such as 2025-01-31T09:00:00Z or "
       "2025-01-31T10:00:00+01:00"},
      {"pattern does not compile", with_condition({{"attribute", "a"}, {"operator", "matches"}, {"value", "(abc"}}),
       "rules[0].conditions[0].value: RE2 pattern does not compile: missing ): (abc"},
      {"backreference (not RE2)", with_condition({{"attribute", "a"}, {"operator", "matches"}, {"value", "(a)\\1"}}),
       "rules[0].conditions[0].value: RE2 pattern does not compile: invalid escape sequence: \\1"},
      {"lookahead (not RE2)", with_condition({{"attribute", "a"}, {"operator", "matches"}, {"value", "a(?=b)"}}),
       "rules[0].conditions[0].value: RE2 pattern does not compile: invalid perl operator: (?="},
      {"pattern too long", with_condition({{"attribute", "a"}, {"operator", "matches"}, {"value", long_pattern}}),
       "rules[0].conditions[0].value: at most 256 bytes of pattern"},
      {"pattern empty", with_condition({{"attribute", "a"}, {"operator", "matches"}, {"value", ""}}),
       "rules[0].conditions[0].value: must be a non-empty RE2 pattern"},
      {"too many patterns",
       json::array({{{"conditions", json(many_patterns.begin(), many_patterns.begin() + 20)}, {"serve", {{"variant", "on"}}}},
                    {{"conditions", json(many_patterns.begin(), many_patterns.begin() + 20)}, {"serve", {{"variant", "on"}}}},
                    {{"conditions", json(many_patterns.begin(), many_patterns.begin() + 11)}, {"serve", {{"variant", "on"}}}}}),
       "rules[2].conditions[10].value: at most 50 matches conditions per flag or segment"},
      {"segment name invalid", with_condition({{"operator", "in_segment"}, {"values", {"ok", "not ok"}}}),
       "rules[0].conditions[0].values[1]: must be a segment name (1-100 characters of A-Z, a-z, 0-9, '_', '.', '-')"},
      {"too many segments", with_condition({{"operator", "in_segment"}, {"values", many_segments}}),
       "rules[0].conditions[0].values: at most 100 values"},
      // serve
      {"serve not an object", rules_of(R"([{"serve":"on"}])"),
       R"(rules[0].serve: must be {"variant":"..."} or {"split":[...],"by":"..."})"},
      {"serve both", rules_of(R"([{"serve":{"variant":"on","split":[{"variant":"on","weight":10000}]}}])"),
       R"(rules[0].serve: needs exactly one of variant and split: {"variant":"..."} or {"split":[...]})"},
      {"serve neither", rules_of(R"([{"serve":{}}])"),
       R"(rules[0].serve: needs exactly one of variant and split: {"variant":"..."} or {"split":[...]})"},
      {"serve unknown key", rules_of(R"([{"serve":{"variant":"on","salt":"x"}}])"),
       "rules[0].serve: unknown key 'salt' (serve has variant, or split and by)"},
      {"by without split", rules_of(R"([{"serve":{"variant":"on","by":"x"}}])"), "rules[0].serve.by: only a split has by"},
      {"variant not a name", rules_of(R"([{"serve":{"variant":"a b"}}])"),
       "rules[0].serve.variant: must be a variant name (1-100 characters of A-Z, a-z, 0-9, '_', '.', '-')"},
      {"split empty", rules_of(R"([{"serve":{"split":[]}}])"),
       R"(rules[0].serve.split: must be a non-empty array such as [{"variant":"a","weight":5000},{"variant":"b","weight":5000}])"},
      {"weights short", rules_of(R"([{"serve":{"split":[{"variant":"a","weight":5000},{"variant":"b","weight":4000}]}}])"),
       "rules[0].serve.split: weights sum to 9000, must be 10000 (100 %, in basis points)"},
      {"weights over", rules_of(R"([{"serve":{"split":[{"variant":"a","weight":10000},{"variant":"b","weight":1}]}}])"),
       "rules[0].serve.split: weights sum to 10001, must be 10000 (100 %, in basis points)"},
      {"weight fractional", rules_of(R"([{"serve":{"split":[{"variant":"a","weight":50.5},{"variant":"b","weight":9949.5}]}}])"),
       "rules[0].serve.split[0].weight: must be an integer from 0 to 10000 (basis points: 2500 is 25 %)"},
      {"weight negative", rules_of(R"([{"serve":{"split":[{"variant":"a","weight":-1},{"variant":"b","weight":10001}]}}])"),
       "rules[0].serve.split[0].weight: must be an integer from 0 to 10000 (basis points: 2500 is 25 %)"},
      {"weight huge", rules_of(R"([{"serve":{"split":[{"variant":"a","weight":18446744073709551615}]}}])"),
       "rules[0].serve.split[0].weight: must be an integer from 0 to 10000 (basis points: 2500 is 25 %)"},
      {"weight missing", rules_of(R"([{"serve":{"split":[{"variant":"a"}]}}])"),
       "rules[0].serve.split[0].weight: must be an integer from 0 to 10000 (basis points: 2500 is 25 %)"},
      {"weight a string", rules_of(R"([{"serve":{"split":[{"variant":"a","weight":"10000"}]}}])"),
       "rules[0].serve.split[0].weight: must be an integer from 0 to 10000 (basis points: 2500 is 25 %)"},
      {"split variant twice", rules_of(R"([{"serve":{"split":[{"variant":"a","weight":5000},{"variant":"a","weight":5000}]}}])"),
       "rules[0].serve.split[1].variant: 'a' appears twice in the split"},
      {"split entry unknown key", rules_of(R"([{"serve":{"split":[{"variant":"a","weight":10000,"w":1}]}}])"),
       "rules[0].serve.split[0]: unknown key 'w' (a split entry has variant and weight)"},
      {"split by empty", rules_of(R"([{"serve":{"split":[{"variant":"a","weight":10000}],"by":""}}])"),
       "rules[0].serve.by: must be an attribute name: 1-256 bytes without control characters, e.g. \"country\" or "
       "\"user.plan\""},
  };
}

TEST(ParseTargeting, RejectsWithThePathAndTheProblem) {
  for (const auto& c : reject_cases()) {
    EXPECT_EQ(reject(c.input), c.error) << c.name;
  }
}

TEST(ParseTargeting, AcceptsTheLimits) {
  json rules = json::array();
  for (std::size_t i = 0; i < kMaxRules; ++i) rules.push_back({{"serve", {{"variant", "on"}}}});
  parse(rules);
  json values = json::array();
  for (std::size_t i = 0; i < kMaxConditionValues; ++i) values.push_back("user-" + std::to_string(i));
  parse(with_condition({{"attribute", "targetingKey"}, {"operator", "in"}, {"values", values}}));
  parse(with_condition({{"attribute", std::string(kMaxAttributeNameLength, 'a')}, {"operator", "exists"}}));
  parse(with_condition({{"attribute", "a"}, {"operator", "matches"}, {"value", std::string(kMaxPatternLength, 'a')}}));
  parse(with_condition({{"attribute", "a"}, {"operator", "eq"}, {"value", std::string(kMaxStringValueLength, 'a')}}));
  parse(rules_of(R"([{"serve":{"split":[{"variant":"a","weight":0},{"variant":"b","weight":10000}]}}])"));
}

// ---------------------------------------------------------------------------------------------
// check_targeting()

TEST(CheckTargeting, VariantsMustExist) {
  const FlagVariants boolean;
  std::string error;
  const Targeting ok = parse(rules_of(R"([{"serve":{"variant":"on"}},{"serve":{"split":[{"variant":"off","weight":10000}]}}])"));
  EXPECT_TRUE(check_targeting(ok, &boolean, {}, error)) << error;

  const Targeting blue = parse(rules_of(R"([{"serve":{"variant":"on"}},{"serve":{"variant":"off"}},{"serve":{"variant":"blue"}}])"));
  EXPECT_FALSE(check_targeting(blue, &boolean, {}, error));
  EXPECT_EQ(error, "rules[2].serve.variant: variant 'blue' does not exist (the flag has off, on)");
  EXPECT_TRUE(check_targeting(blue, nullptr, {}, error));  // no flag given: not checked

  const Targeting split = parse(rules_of(R"([{"serve":{"split":[{"variant":"on","weight":5000},{"variant":"maybe","weight":5000}]}}])"));
  EXPECT_FALSE(check_targeting(split, &boolean, {}, error));
  EXPECT_EQ(error, "rules[0].serve.split[1].variant: variant 'maybe' does not exist (the flag has off, on)");
}

TEST(CheckTargeting, SegmentsMustExist) {
  const Targeting t = parse(rules_of(R"([{"serve":{"variant":"on"}},{"conditions":[{"attribute":"a","operator":"exists"},
      {"operator":"in_segment","values":["staff","beta"]}],"serve":{"variant":"on"}}])"));
  std::string error;
  const auto only_staff = [](std::string_view name) { return name == "staff"; };
  EXPECT_FALSE(check_targeting(t, nullptr, only_staff, error));
  EXPECT_EQ(error, "rules[1].conditions[1].values[1]: segment 'beta' does not exist");
  EXPECT_TRUE(check_targeting(t, nullptr, [](std::string_view) { return true; }, error)) << error;
  EXPECT_TRUE(check_targeting(t, nullptr, {}, error)) << error;
}

TEST(CheckTargeting, LegacyRulesOnlyOnBooleanFlags) {
  std::string error;
  const Targeting legacy = parse(json::parse(R"({"type":"PERCENTAGE","value":50})"));
  const FlagVariants boolean;
  EXPECT_TRUE(check_targeting(legacy, &boolean, {}, error)) << error;

  std::string e;
  const auto string_flag = parse_flag_variants(
      json::parse(R"({"type":"string","variants":{"a":"x"},"default_variant":"a","off_variant":"a"})"), e);
  ASSERT_TRUE(string_flag) << e;
  EXPECT_FALSE(check_targeting(legacy, &*string_flag, {}, error));
  EXPECT_EQ(error, "rules: a PERCENTAGE rule serves true or false, and this flag is a string flag (use an array of "
                   "rules, with a split)");

  const auto only_false = parse_flag_variants(json::parse(R"({"variants":{"no":false},"default_variant":"no","off_variant":"no"})"), e);
  ASSERT_TRUE(only_false) << e;
  const Targeting users = parse(json::parse(R"({"type":"USER_LIST","values":["u"]})"));
  EXPECT_FALSE(check_targeting(users, &*only_false, {}, error));
  EXPECT_EQ(error, "rules: a USER_LIST rule serves true, and none of the flag's variants holds true");
}

// ---------------------------------------------------------------------------------------------
// Random mutations of valid rules: never a crash; what parses writes canonical text that parses
// back to the same text, and evaluates. The seed is fixed, so every run tries the same inputs.

json random_value(std::mt19937& rng) {
  switch (rng() % 9) {
    case 0: return nullptr;
    case 1: return static_cast<int>(rng() % 20'001) - 10'000;
    case 2: return (rng() % 1000) / 7.0;
    case 3: return rng() % 2 == 0;
    case 4: {
      static const char* strings[] = {"", "on", "off", "BR", "eq", "in", "matches", "(", "^a.*$", "1.2.3", "v2.0.0-rc.1",
                                      "2025-01-01T00:00:00Z", "targetingKey", "split", "variant", "staff", "\xc3\xa9",
                                      "tier-1", "semver_gt", "in_segment", "not_exists"};
      return strings[rng() % (sizeof strings / sizeof *strings)];
    }
    case 5: return json::array({random_value(rng)});
    case 6: return json::object({{"variant", "on"}, {"weight", 10'000}});
    case 7: return json::array();
    default: return json::object();
  }
}

TEST(ParseTargeting, RandomMutationsNeverCrashAndRoundTrip) {
  const json base = json::parse(R"([
      {"name":"r","conditions":[{"attribute":"country","operator":"in","values":["BR","PT",3,true]},
                                {"attribute":"email","operator":"matches","value":"@acme\\.com$"},
                                {"attribute":"v","operator":"semver_gte","value":"1.2.3"},
                                {"attribute":"t","operator":"after","value":"2025-01-01T00:00:00Z"},
                                {"attribute":"age","operator":"lt","value":65},
                                {"attribute":"x","operator":"exists"},
                                {"operator":"in_segment","values":["staff"]}],
       "serve":{"variant":"on"}},
      {"serve":{"split":[{"variant":"on","weight":2500},{"variant":"off","weight":7500}],"by":"targetingKey"}}])");
  const std::vector<std::string> leaves = [&] {
    std::vector<std::string> out;
    const json flat = base.flatten();  // items() refers to it: it must outlive the loop
    for (const auto& [pointer, value] : flat.items()) out.push_back(pointer);
    return out;
  }();
  std::string error;
  const auto ctx = Context::from_json(json::parse(R"({"targetingKey":"u1","country":"BR","email":"a@acme.com",
      "v":"1.2.4","t":"2026-01-01T00:00:00Z","age":30,"x":[1]})"), error);
  ASSERT_TRUE(ctx) << error;
  std::mt19937 rng(20'260'101);
  int parsed = 0;
  for (int i = 0; i < 3'000; ++i) {
    json mutated = base;
    for (int m = 0, mutations = 1 + static_cast<int>(rng() % 3); m < mutations; ++m) {
      json::json_pointer pointer(leaves[rng() % leaves.size()]);
      if (rng() % 4 == 0 && !pointer.empty()) pointer = pointer.parent_pointer();  // a whole subtree
      if (!mutated.contains(pointer)) continue;
      if (rng() % 5 == 0 && !pointer.empty()) {  // remove it
        const std::string last = pointer.back();
        json& parent = mutated[pointer.parent_pointer()];
        if (parent.is_object()) parent.erase(last);
        else if (parent.is_array() && !parent.empty()) parent.erase(parent.size() - 1);
      } else {
        mutated[pointer] = random_value(rng);
      }
    }
    const auto t = parse_targeting(mutated, error);
    if (!t) {
      EXPECT_FALSE(error.empty()) << mutated.dump();
      continue;
    }
    ++parsed;
    const json canonical = to_json(*t);
    const auto again = parse_targeting(canonical, error);
    ASSERT_TRUE(again) << canonical.dump() << ": " << error;
    EXPECT_EQ(to_json(*again).dump(), canonical.dump());
    const Flag flag{"f", true, {}};
    const Resolution r = resolve(flag, &*t, {}, *ctx);
    EXPECT_TRUE(r.variant || r.reason == Reason::error) << canonical.dump();
  }
  EXPECT_GT(parsed, 100);  // the mutations do reach the evaluator
}

// ---------------------------------------------------------------------------------------------
// Segments

TEST(ParseSegment, RoundTripsAndRejects) {
  std::string error;
  const auto s = parse_segment(json::parse(R"({"name":"beta-testers","conditions":[
      {"attribute":"email","operator":"ends_with","value":"@example.com"},
      {"attribute":"plan","operator":"in","values":["pro","team"]}]})"), error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->name(), "beta-testers");
  EXPECT_EQ(to_json(*s).dump(),
            R"({"conditions":[{"attribute":"email","operator":"ends_with","value":"@example.com"},)"
            R"({"attribute":"plan","operator":"in","values":["pro","team"]}],"name":"beta-testers"})");
  const auto again = parse_segment(to_json(*s), error);
  ASSERT_TRUE(again) << error;
  EXPECT_EQ(to_json(*again), to_json(*s));

  const auto everyone = parse_segment(json::parse(R"({"name":"everyone"})"), error);
  ASSERT_TRUE(everyone) << error;
  EXPECT_EQ(to_json(*everyone).dump(), R"({"conditions":[],"name":"everyone"})");

  const std::vector<RejectCase> cases = {
      {"not an object", json::array(), R"(a segment must be a JSON object such as {"name":"beta-testers","conditions":[...]})"},
      {"no name", json::parse(R"({"conditions":[]})"),
       "name: must be a segment name (1-100 characters of A-Z, a-z, 0-9, '_', '.', '-')"},
      {"bad name", json::parse(R"({"name":"beta testers"})"),
       "name: must be a segment name (1-100 characters of A-Z, a-z, 0-9, '_', '.', '-')"},
      {"unknown key", json::parse(R"({"name":"s","rules":[]})"), "unknown key 'rules' (a segment has name and conditions)"},
      {"nested segment", json::parse(R"({"name":"s","conditions":[{"operator":"in_segment","values":["t"]}]})"),
       "conditions[0].operator: a segment cannot use in_segment (segments do not nest)"},
      {"bad operator", json::parse(R"({"name":"s","conditions":[{"attribute":"a","operator":"equals","value":1}]})"),
       "conditions[0].operator: unknown operator 'equals' (one of " + kOperators + ")"},
      {"bad pattern", json::parse(R"({"name":"s","conditions":[{"attribute":"a","operator":"exists"},{"attribute":"a","operator":"matches","value":"[z-a]"}]})"),
       "conditions[1].value: RE2 pattern does not compile: invalid character class range: z-a"},
  };
  for (const auto& c : cases) {
    std::string e;
    EXPECT_FALSE(parse_segment(c.input, e)) << c.name;
    EXPECT_EQ(e, c.error) << c.name;
  }
}

TEST(SegmentSet, FindsByNameAndLaterReplaces) {
  std::string error;
  auto a1 = parse_segment(json::parse(R"({"name":"a","conditions":[{"attribute":"x","operator":"exists"}]})"), error);
  auto a2 = parse_segment(json::parse(R"({"name":"a"})"), error);
  auto b = parse_segment(json::parse(R"({"name":"b"})"), error);
  const SegmentSet set({*a1, *b, *a2});
  EXPECT_EQ(set.size(), 2u);
  ASSERT_TRUE(set.find("a"));
  EXPECT_EQ(to_json(*set.find("a")).dump(), R"({"conditions":[],"name":"a"})");
  EXPECT_TRUE(set.find("b"));
  EXPECT_FALSE(set.find("c"));
  EXPECT_EQ(SegmentSet().size(), 0u);
  EXPECT_FALSE(SegmentSet().find("a"));
}

}  // namespace
