// The flag model: types, variants, default and off variants, their validation and JSON.
#include "toggle/rules/flag.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using namespace toggle::rules;
using nlohmann::json;

FlagVariants parse(const json& j) {
  std::string error;
  auto v = parse_flag_variants(j, error);
  EXPECT_TRUE(v) << j.dump() << ": " << error;
  return v.value_or(FlagVariants{});
}

std::string reject(const json& j) {
  std::string error;
  EXPECT_FALSE(parse_flag_variants(j, error)) << j.dump();
  return error;
}

TEST(FlagVariants, TheImplicitBooleanIsTodaysFlag) {
  const FlagVariants v;
  EXPECT_EQ(v.type(), FlagType::boolean);
  ASSERT_EQ(v.variants().size(), 2u);
  EXPECT_EQ(v.default_variant().name, "on");
  EXPECT_TRUE(v.default_variant().boolean);
  EXPECT_EQ(v.off_variant().name, "off");
  EXPECT_FALSE(v.off_variant().boolean);
  EXPECT_EQ(v.for_boolean(true), v.find("on"));
  EXPECT_EQ(v.for_boolean(false), v.find("off"));
  EXPECT_EQ(to_json(v).dump(),
            R"({"default_variant":"on","off_variant":"off","type":"boolean","variants":{"off":false,"on":true}})");
  // An empty object and an explicit "boolean" mean the same.
  EXPECT_EQ(to_json(parse(json::object())), to_json(v));
  EXPECT_EQ(to_json(parse({{"type", "boolean"}})), to_json(v));
}

TEST(FlagVariants, BooleanWithADefaultOfOff) {
  const FlagVariants v = parse({{"default_variant", "off"}});
  EXPECT_EQ(v.default_variant().name, "off");
  EXPECT_EQ(v.off_variant().name, "off");
}

TEST(FlagVariants, ExplicitBooleanVariants) {
  const FlagVariants v = parse(json::parse(
      R"({"variants":{"enabled":true,"disabled":false},"default_variant":"disabled","off_variant":"disabled"})"));
  EXPECT_EQ(v.for_boolean(true)->name, "enabled");
  EXPECT_EQ(v.for_boolean(false)->name, "disabled");
}

TEST(FlagVariants, StringNumberObject) {
  const FlagVariants s = parse(json::parse(
      R"({"type":"string","variants":{"red":"#f00","blue":"#00f"},"default_variant":"blue","off_variant":"red"})"));
  EXPECT_EQ(s.type(), FlagType::string);
  EXPECT_EQ(s.variants()[0].name, "blue");  // sorted by name
  EXPECT_EQ(s.default_variant().value_json, R"("#00f")");
  EXPECT_EQ(*s.find("red")->value, json("#f00"));
  EXPECT_EQ(s.find("green"), nullptr);
  EXPECT_EQ(s.for_boolean(true), nullptr);

  const FlagVariants n = parse(json::parse(
      R"({"type":"number","variants":{"low":1,"high":2.5,"int-as-float":3.0},"default_variant":"low","off_variant":"low"})"));
  EXPECT_EQ(n.find("high")->value_json, "2.5");
  EXPECT_EQ(n.find("int-as-float")->value_json, "3");  // canonical: integral numbers as integers

  const FlagVariants o = parse(json::parse(
      R"({"type":"object","variants":{"a":{"limit":10,"tags":["x"]},"b":[1,2],"c":{}},"default_variant":"a","off_variant":"c"})"));
  EXPECT_EQ(o.find("a")->value_json, R"({"limit":10,"tags":["x"]})");
  EXPECT_EQ(o.find("b")->value_json, "[1,2]");
}

TEST(FlagVariants, CanonicalJsonRoundTrips) {
  for (const char* text : {
           R"({"default_variant":"blue","off_variant":"red","type":"string","variants":{"blue":"#00f","red":"#f00"}})",
           R"({"default_variant":"off","off_variant":"off","type":"boolean","variants":{"off":false,"on":true}})",
           R"({"default_variant":"a","off_variant":"a","type":"object","variants":{"a":{"k":[1,"x",null]}}})",
           R"({"default_variant":"x","off_variant":"y","type":"number","variants":{"x":-0.25,"y":100}})",
       }) {
    const FlagVariants v = parse(json::parse(text));
    EXPECT_EQ(to_json(v).dump(), text);
    EXPECT_EQ(to_json(parse(to_json(v))).dump(), text);
  }
}

TEST(FlagVariants, ValuesUpToTheSizeLimit) {
  const std::string big(kMaxVariantValueBytes - 2, 'x');  // plus two quotes: exactly the limit
  parse({{"type", "string"}, {"variants", {{"a", big}}}, {"default_variant", "a"}, {"off_variant", "a"}});
  json many = json::object();
  for (std::size_t i = 0; i < kMaxVariants; ++i) many["v" + std::to_string(i)] = static_cast<int>(i);
  parse({{"type", "number"}, {"variants", many}, {"default_variant", "v0"}, {"off_variant", "v1"}});
}

struct RejectCase {
  const char* name;
  json input;
  std::string error;
};

TEST(FlagVariants, RejectsWithTheFieldAndTheProblem) {
  json too_many = json::object();
  for (std::size_t i = 0; i <= kMaxVariants; ++i) too_many["v" + std::to_string(i)] = "x";
  const std::string too_big(kMaxVariantValueBytes - 1, 'x');
  const std::vector<RejectCase> cases = {
      {"not an object", json::array(),
       "a flag's variant part must be a JSON object with type, variants, default_variant and off_variant"},
      {"unknown key", {{"typ", "string"}}, "unknown key 'typ' (a flag has type, variants, default_variant and off_variant)"},
      {"unknown type", {{"type", "int"}}, "type: must be one of boolean, string, number, object"},
      {"type not a string", {{"type", 1}}, "type: must be one of boolean, string, number, object"},
      {"string without variants", {{"type", "string"}}, "variants: required for a string flag, e.g. {\"blue\":\"#00f\"}"},
      {"variants an array", {{"type", "string"}, {"variants", json::array({"a"})}},
       "variants: must be an object of variant name to value, e.g. {\"blue\":\"#00f\"}"},
      {"no variants", {{"type", "string"}, {"variants", json::object()}}, "variants: must have at least one variant"},
      {"too many", {{"type", "string"}, {"variants", too_many}}, "variants: at most 100 variants (has 101)"},
      {"bad name", {{"type", "string"}, {"variants", {{"a b", "x"}}}},
       "variants: 'a b' is not a valid variant name (1-100 characters of A-Z, a-z, 0-9, '_', '.', '-')"},
      {"unprintable name", {{"type", "string"}, {"variants", {{"a\nb", "x"}}}},
       "variants: (not shown) is not a valid variant name (1-100 characters of A-Z, a-z, 0-9, '_', '.', '-')"},
      {"wrong type string", {{"type", "string"}, {"variants", {{"blue", 1}}}},
       "variants.blue: must be a string (the flag's type)"},
      {"wrong type boolean", {{"variants", {{"on", "true"}}}}, "variants.on: must be true or false (the flag's type)"},
      {"wrong type number", {{"type", "number"}, {"variants", {{"n", "1"}}}}, "variants.n: must be a number (the flag's type)"},
      {"wrong type object", {{"type", "object"}, {"variants", {{"o", "{}"}}}},
       "variants.o: must be a JSON object or array (the flag's type)"},
      {"null value", {{"type", "string"}, {"variants", {{"a", nullptr}}}}, "variants.a: must be a string (the flag's type)"},
      {"value too big", {{"type", "string"}, {"variants", {{"a", too_big}}}, {"default_variant", "a"}, {"off_variant", "a"}},
       "variants.a: at most 8192 bytes of JSON (has 8193)"},
      {"missing default", {{"type", "string"}, {"variants", {{"a", "x"}, {"b", "y"}}}, {"off_variant", "a"}},
       "default_variant: required for a string flag (the name of one of its variants: a, b)"},
      {"missing off", {{"type", "string"}, {"variants", {{"a", "x"}}}, {"default_variant", "a"}},
       "off_variant: required for a string flag (the name of one of its variants: a)"},
      {"unknown default", {{"type", "string"}, {"variants", {{"a", "x"}}}, {"default_variant", "b"}, {"off_variant", "a"}},
       "default_variant: variant 'b' does not exist (the flag has a)"},
      {"unknown off", {{"type", "string"}, {"variants", {{"a", "x"}}}, {"default_variant", "a"}, {"off_variant", "zz"}},
       "off_variant: variant 'zz' does not exist (the flag has a)"},
      {"default not a string", {{"default_variant", true}}, "default_variant: must be the name of one of the flag's variants"},
      {"boolean default missing", {{"variants", {{"yes", true}, {"no", false}}}},
       "default_variant: variant 'on' does not exist (the flag has no, yes)"},
      {"boolean off holding true", {{"off_variant", "on"}},
       "off_variant: must be a variant holding false (a disabled boolean flag serves false); 'on' holds true"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(reject(c.input), c.error) << c.name;
  }
}

TEST(FlagType, WireNames) {
  EXPECT_EQ(to_string(FlagType::boolean), "boolean");
  EXPECT_EQ(to_string(FlagType::string), "string");
  EXPECT_EQ(to_string(FlagType::number), "number");
  EXPECT_EQ(to_string(FlagType::object), "object");
}

}  // namespace
