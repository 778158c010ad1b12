// The evaluation context: from JSON, flattening, lookups, limits.
#include "toggle/rules/context.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace {

using namespace toggle::rules;
using nlohmann::json;
using Kind = Attribute::Kind;

Context parse(const char* text) {
  std::string error;
  auto c = Context::from_json(json::parse(text), error);
  EXPECT_TRUE(c) << text << ": " << error;
  return c.value_or(Context{});
}

std::string reject(const json& j) {
  std::string error;
  EXPECT_FALSE(Context::from_json(j, error)) << j.dump();
  return error;
}

TEST(Context, ScalarsKeepTheirTypes) {
  const Context c = parse(R"({"targetingKey":"u1","plan":"pro","age":42,"score":1.5,"beta":true,"big":18446744073709551615})");
  ASSERT_TRUE(c.find("plan"));
  EXPECT_EQ(c.find("plan")->kind, Kind::string);
  EXPECT_EQ(c.find("plan")->string, "pro");
  EXPECT_EQ(c.find("age")->kind, Kind::number);
  EXPECT_EQ(c.find("age")->number, 42);
  EXPECT_EQ(c.find("score")->number, 1.5);
  EXPECT_EQ(c.find("beta")->kind, Kind::boolean);
  EXPECT_TRUE(c.find("beta")->boolean);
  EXPECT_EQ(c.find("big")->number, 18446744073709551615.0);
  EXPECT_EQ(c.targeting_key(), "u1");
  EXPECT_EQ(c.find("missing"), nullptr);
  EXPECT_EQ(c.find("Plan"), nullptr);  // names are case-sensitive
}

TEST(Context, NullIsAbsent) {
  const Context c = parse(R"({"plan":null,"targetingKey":null,"tags":["a",null,"b"]})");
  EXPECT_EQ(c.find("plan"), nullptr);
  EXPECT_FALSE(c.targeting_key());
  ASSERT_TRUE(c.find("tags"));
  EXPECT_EQ(c.find("tags")->items.size(), 2u);
}

TEST(Context, NestedObjectsAreAddressedByDottedPaths) {
  const Context c = parse(R"({"user":{"plan":"pro","address":{"country":"BR"}},"app":{"version":"1.2.3"}})");
  ASSERT_TRUE(c.find("user"));
  EXPECT_EQ(c.find("user")->kind, Kind::object);
  EXPECT_EQ(c.find("user.plan")->string, "pro");
  EXPECT_EQ(c.find("user.address")->kind, Kind::object);
  EXPECT_EQ(c.find("user.address.country")->string, "BR");
  EXPECT_EQ(c.find("app.version")->string, "1.2.3");
  EXPECT_EQ(c.find("plan"), nullptr);
  EXPECT_EQ(c.find("user.missing"), nullptr);
}

TEST(Context, ALiteralKeyBeatsTheSamePathFromNesting) {
  // Whatever the JSON order, "a.b" the key wins over "a" -> "b".
  EXPECT_EQ(parse(R"({"a.b":1,"a":{"b":2}})").find("a.b")->number, 1);
  EXPECT_EQ(parse(R"({"a":{"b":2},"a.b":1})").find("a.b")->number, 1);
  EXPECT_EQ(parse(R"({"a":{"b.c":1,"b":{"c":2}}})").find("a.b.c")->number, 1);
}

TEST(Context, ArraysHoldTheirElements) {
  const Context c = parse(R"({"groups":["admin","dev"],"mixed":[1,"x",true,{"k":1},[2]]})");
  const Attribute* groups = c.find("groups");
  ASSERT_TRUE(groups);
  EXPECT_EQ(groups->kind, Kind::array);
  ASSERT_EQ(groups->items.size(), 2u);
  EXPECT_EQ(groups->items[1].string, "dev");
  const Attribute* mixed = c.find("mixed");
  ASSERT_EQ(mixed->items.size(), 5u);
  EXPECT_EQ(mixed->items[3].kind, Kind::object);
  EXPECT_EQ(mixed->items[4].kind, Kind::array);
  EXPECT_EQ(c.find("mixed.k"), nullptr);  // objects inside arrays are not flattened
}

TEST(Context, UnicodeNamesAndValuesAreBytes) {
  const Context c = parse(R"({"país":"Brasil","emoji":"🚀","name":"jos\u00e9"})");
  EXPECT_EQ(c.find("pa\xc3\xads")->string, "Brasil");
  EXPECT_EQ(c.find("emoji")->string, "\xf0\x9f\x9a\x80");
  EXPECT_EQ(c.find("name")->string, "jos\xc3\xa9");
}

TEST(Context, TargetingKey) {
  EXPECT_EQ(parse(R"({"targetingKey":"user-123"})").targeting_key(), "user-123");
  EXPECT_FALSE(parse(R"({})").targeting_key());
  EXPECT_FALSE(parse(R"({"targetingKey":""})").targeting_key());  // empty counts as missing
  EXPECT_EQ(parse(R"({"targetingKey":""})").find("targetingKey")->string, "");  // still an attribute
}

TEST(Context, RejectsWhatIsNotAContext) {
  EXPECT_EQ(reject(json::array()), "context must be a JSON object");
  EXPECT_EQ(reject(json("x")), "context must be a JSON object");
  EXPECT_EQ(reject(json(nullptr)), "context must be a JSON object");
  EXPECT_EQ(reject(json::parse(R"({"targetingKey":42})")), "context.targetingKey must be a string");
  EXPECT_EQ(reject(json::parse(R"({"targetingKey":{"id":"x"}})")), "context.targetingKey must be a string");
}

TEST(Context, Limits) {
  json deep = "leaf";
  for (std::size_t i = 0; i <= kMaxContextDepth; ++i) deep = json{{"k", deep}};
  EXPECT_EQ(reject(deep), "context nests objects or arrays deeper than 8 levels");
  json deep_array = "leaf";
  for (std::size_t i = 0; i <= kMaxContextDepth; ++i) deep_array = json::array({deep_array});
  EXPECT_EQ(reject(json{{"a", deep_array}}), "context nests objects or arrays deeper than 8 levels");

  json ok_depth = "leaf";
  for (std::size_t i = 0; i < kMaxContextDepth; ++i) ok_depth = json{{"k", ok_depth}};
  std::string error;
  EXPECT_TRUE(Context::from_json(ok_depth, error)) << error;

  json wide = json::object();
  for (std::size_t i = 0; i < kMaxContextAttributes; ++i) wide["a" + std::to_string(i)] = i;
  EXPECT_TRUE(Context::from_json(wide, error)) << error;
  wide["one-more"] = 1;
  EXPECT_EQ(reject(wide), "context has more than 1000 attributes");
}

TEST(Context, SetReplacesAndFindsWithAPrecomputedHash) {
  Context c;
  c.set("plan", Attribute::of_string("free")).set("plan", Attribute::of_string("pro")).set("age", Attribute::of_number(7));
  EXPECT_EQ(c.find("plan")->string, "pro");
  EXPECT_EQ(c.find("plan", attribute_hash("plan"))->string, "pro");
  EXPECT_EQ(c.find("age")->number, 7);
  EXPECT_EQ(Context().find("x"), nullptr);
}

TEST(Context, ManyAttributesAllFound) {
  Context c;
  json j = json::object();
  for (int i = 0; i < 500; ++i) j["attr-" + std::to_string(i)] = i;
  std::string error;
  auto ctx = Context::from_json(j, error);
  ASSERT_TRUE(ctx);
  for (int i = 0; i < 500; ++i) {
    const Attribute* a = ctx->find("attr-" + std::to_string(i));
    ASSERT_TRUE(a) << i;
    EXPECT_EQ(a->number, i);
  }
  EXPECT_EQ(ctx->find("attr-500"), nullptr);
}

}  // namespace
