// Unit tests for libs/rules: names, bucketing, evaluate(), parse_rule() and to_json().
#include "toggle/rules/rules.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using namespace toggle::rules;

// ---------------------------------------------------------------------------------------------
// bucket()

struct BucketCase {
  std::string user_id;
  std::string flag_name;
  int expected;
};

// Expected values computed outside this code, e.g.
//   printf '%s' 'user-123enable-new-dashboard' | sha1sum   -> 9ac1ed8d...
//   0x9ac1ed8d % 100 = 25
const std::vector<BucketCase> kBucketCases = {
    {"user-123", "enable-new-dashboard", 25},    // original README: true at 50 %
    {"user-abc", "enable-new-dashboard", 71},    // original README: false at 50 %
    {"alice@example.com", "checkout-v2", 75},    // 1220509b
    {"x", "A", 22},                              // fb2ef4ba
    {"12345678901234567890", "my_flag-1.0", 3},  // 682f034f
    {"jos\xc3\xa9", "beta", 72},                 // "josé" as UTF-8 bytes; ddad1584
    {"user-2", "enable-new-dashboard", 1},       // 0a44c0f1
    {"user-9", "enable-new-dashboard", 92},      // 08ca6844
    // 256 + 100 bytes: the input spans several 64-byte SHA-1 blocks. ee1c625c
    {std::string(256, 'u'), std::string(100, 'f'), 96},
};

TEST(Bucket, MatchesIndependentlyComputedSha1Vectors) {
  for (const auto& c : kBucketCases) {
    EXPECT_EQ(bucket(c.user_id, c.flag_name), c.expected) << c.user_id << " + " << c.flag_name;
  }
}

TEST(Bucket, ConcatenatesWithoutSeparatorLikeTheOriginal) {
  // "user-1"+"ab" and "user-1a"+"b" hash the same bytes (e7d9b4e9 -> 21).
  EXPECT_EQ(bucket("user-1", "ab"), 21);
  EXPECT_EQ(bucket("user-1a", "b"), 21);
}

TEST(Bucket, IsDeterministicAndInRange) {
  std::array<int, 100> counts{};
  for (int i = 0; i < 10'000; ++i) {
    const std::string user = "user-" + std::to_string(i);
    const int b = bucket(user, "some-flag");
    ASSERT_GE(b, 0);
    ASSERT_LT(b, 100);
    ASSERT_EQ(b, bucket(user, "some-flag"));
    ++counts[b];
  }
  // Roughly uniform: ~100 users per bucket.
  for (int count : counts) {
    EXPECT_GT(count, 50);
    EXPECT_LT(count, 150);
  }
}

// ---------------------------------------------------------------------------------------------
// evaluate()

FlagDefinition flag(bool enabled, std::optional<Rule> rule = std::nullopt) {
  return FlagDefinition{"enable-new-dashboard", enabled, std::move(rule)};
}

struct EvaluateCase {
  const char* name;
  FlagDefinition flag;
  std::string user_id;
  bool expected;
};

// user-123 is in bucket 25 and user-abc in bucket 71 for enable-new-dashboard.
std::vector<EvaluateCase> evaluate_cases() {
  return {
      {"disabled, no rule", flag(false), "user-123", false},
      {"disabled beats a 100% rule", flag(false, percentage_rule(100)), "user-123", false},
      {"disabled beats a user list hit", flag(false, user_list_rule({"user-123"})), "user-123", false},
      {"enabled, no rule", flag(true), "user-123", true},
      {"PERCENTAGE 0", flag(true, percentage_rule(0)), "user-123", false},
      {"PERCENTAGE 100", flag(true, percentage_rule(100)), "user-abc", true},
      {"PERCENTAGE 50, bucket 25", flag(true, percentage_rule(50)), "user-123", true},
      {"PERCENTAGE 50, bucket 71", flag(true, percentage_rule(50)), "user-abc", false},
      {"PERCENTAGE 25, bucket 25 (strict <)", flag(true, percentage_rule(25)), "user-123", false},
      {"PERCENTAGE 25.5, bucket 25", flag(true, percentage_rule(25.5)), "user-123", true},
      {"PERCENTAGE 25.0001, bucket 25", flag(true, percentage_rule(25.0001)), "user-123", true},
      {"PERCENTAGE 24.9, bucket 25", flag(true, percentage_rule(24.9)), "user-123", false},
      {"PERCENTAGE 71.5, bucket 71", flag(true, percentage_rule(71.5)), "user-abc", true},
      {"USER_LIST hit", flag(true, user_list_rule({"a", "user-123", "b"})), "user-123", true},
      {"USER_LIST miss", flag(true, user_list_rule({"a", "b"})), "user-123", false},
      {"USER_LIST is case-sensitive", flag(true, user_list_rule({"User-123"})), "user-123", false},
      {"USER_LIST no prefix match", flag(true, user_list_rule({"user-1234"})), "user-123", false},
      {"USER_LIST empty", flag(true, user_list_rule({})), "user-123", false},
      {"USER_LIST default-constructed", flag(true, Rule{RuleType::user_list, 0, {}}), "user-123", false},
  };
}

TEST(Evaluate, EachBranch) {
  for (const auto& c : evaluate_cases()) {
    EXPECT_EQ(evaluate(c.flag, c.user_id), c.expected) << c.name;
  }
}

TEST(Evaluate, PercentageUsesTheFlagName) {
  // Same user, different flag, different bucket: user-123 is in bucket 25 here, but the flag
  // "x" puts it elsewhere (computed by bucket(), which is checked against sha1sum above).
  FlagDefinition f{"x", true, percentage_rule(50)};
  EXPECT_EQ(evaluate(f, "user-123"), bucket("user-123", "x") < 50);
}

TEST(Evaluate, PercentageAgreesWithBucketForManyUsers) {
  for (double p : {0.0, 0.5, 1.0, 33.3, 50.0, 99.0, 99.5, 100.0}) {
    const FlagDefinition f = flag(true, percentage_rule(p));
    int on = 0;
    for (int i = 0; i < 2'000; ++i) {
      const std::string user = "user-" + std::to_string(i);
      const bool expected = bucket(user, f.name) < p;
      ASSERT_EQ(evaluate(f, user), expected) << "p=" << p << " user=" << user;
      on += expected;
    }
    if (p == 0.0) {
      EXPECT_EQ(on, 0);
    }
    if (p == 100.0) {
      EXPECT_EQ(on, 2'000);
    }
  }
}

TEST(UserList, KeepsOrderAndEachIdOnce) {
  const UserList users({"b", "a", "b"});
  EXPECT_EQ(users.values(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(users.size(), 2u);
  EXPECT_TRUE(users.contains("a"));
  EXPECT_TRUE(users.contains("b"));
  EXPECT_FALSE(users.contains("c"));
  EXPECT_FALSE(users.contains(""));
}

TEST(UserList, CopiesShareAndOutliveTheOriginal) {
  UserList copy;
  {
    std::vector<std::string> long_ids;  // longer than the small-string buffer
    for (int i = 0; i < 100; ++i) long_ids.push_back("a-rather-long-user-identifier-" + std::to_string(i));
    const UserList original(std::move(long_ids));
    copy = original;
  }
  EXPECT_TRUE(copy.contains("a-rather-long-user-identifier-42"));
  EXPECT_FALSE(copy.contains("a-rather-long-user-identifier-100"));
  EXPECT_TRUE(UserList().empty());
  EXPECT_FALSE(UserList().contains("x"));
}

// ---------------------------------------------------------------------------------------------
// parse_rule()

std::optional<Rule> parse(const json& j, std::string& error) { return parse_rule(j, error); }

TEST(ParseRule, AcceptsPercentage) {
  for (const char* text : {R"({"type":"PERCENTAGE","value":0})", R"({"type":"PERCENTAGE","value":100})",
                           R"({"type":"PERCENTAGE","value":50})", R"({"value":12.5,"type":"PERCENTAGE"})",
                           R"({"type":"PERCENTAGE","value":0.001})", R"({"type":"PERCENTAGE","value":1e2})"}) {
    std::string error;
    const auto rule = parse(json::parse(text), error);
    ASSERT_TRUE(rule) << text << ": " << error;
    EXPECT_EQ(rule->type, RuleType::percentage);
    EXPECT_EQ(rule->percentage, json::parse(text)["value"].get<double>()) << text;
    EXPECT_TRUE(error.empty());
  }
}

// New rules take whole percentages; rules stored before (fractional) still read with parse_rule.
TEST(ParseNewRule, TakesWholePercentagesOnly) {
  for (const char* text : {R"({"type":"PERCENTAGE","value":50})", R"({"type":"PERCENTAGE","value":50.0})",
                           R"({"type":"PERCENTAGE","value":1e2})", R"({"type":"USER_LIST","values":["a"]})"}) {
    std::string error;
    EXPECT_TRUE(parse_new_rule(json::parse(text), error)) << text << ": " << error;
  }
  for (const char* text : {R"({"type":"PERCENTAGE","value":50.5})", R"({"type":"PERCENTAGE","value":0.001})"}) {
    std::string error;
    EXPECT_FALSE(parse_new_rule(json::parse(text), error)) << text;
    EXPECT_NE(error.find("whole number"), std::string::npos) << error;
    EXPECT_TRUE(parse_rule(json::parse(text), error)) << text << " still reads once stored";
  }
  std::string error;
  EXPECT_FALSE(parse_new_rule(json::parse(R"({"type":"PERCENTAGE","value":101})"), error));
  EXPECT_EQ(error, "rules.value must be a number between 0 and 100");
}

TEST(ParseRule, AcceptsUserList) {
  std::string error;
  const auto rule = parse(json::parse(R"({"type":"USER_LIST","values":["u1","u2","u1","jos\u00e9"]})"), error);
  ASSERT_TRUE(rule) << error;
  EXPECT_EQ(rule->type, RuleType::user_list);
  EXPECT_EQ(rule->users.values(), (std::vector<std::string>{"u1", "u2", "jos\xc3\xa9"}));
  EXPECT_TRUE(rule->contains_user("u2"));
  EXPECT_TRUE(rule->contains_user("jos\xc3\xa9"));
  EXPECT_FALSE(rule->contains_user("u3"));
}

TEST(ParseRule, AcceptsEmptyAndMaximalUserLists) {
  std::string error;
  EXPECT_TRUE(parse(json::parse(R"({"type":"USER_LIST","values":[]})"), error)) << error;

  json values = json::array();
  for (std::size_t i = 0; i < kMaxUserListSize; ++i) values.push_back("user-" + std::to_string(i));
  values[0] = std::string(kMaxUserIdLength, 'x');
  const auto rule = parse(json{{"type", "USER_LIST"}, {"values", values}}, error);
  ASSERT_TRUE(rule) << error;
  EXPECT_EQ(rule->users.size(), kMaxUserListSize);
  EXPECT_TRUE(rule->contains_user("user-9999"));
}

struct RejectCase {
  const char* name;
  json input;
  std::string expected_error;
};

const std::string kTypeError = "rules.type must be one of PERCENTAGE, USER_LIST";
const std::string kValueError = "rules.value must be a number between 0 and 100";
const std::string kValuesError = "rules.values must be an array of user ids (strings of 1-256 characters)";
const std::string kObjectError = R"(rules must be a JSON object, e.g. {"type":"PERCENTAGE","value":50})";

std::vector<RejectCase> reject_cases() {
  json too_many = json::array();
  for (std::size_t i = 0; i <= kMaxUserListSize; ++i) too_many.push_back("u" + std::to_string(i));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  return {
      // not an object
      {"null", json(nullptr), kObjectError},
      {"array", json::parse(R"([{"type":"PERCENTAGE","value":50}])"), kObjectError},
      {"string", json("PERCENTAGE"), kObjectError},
      {"number", json(50), kObjectError},
      {"bool", json(true), kObjectError},
      // type
      {"empty object", json::object(), kTypeError},
      {"missing type", json::parse(R"({"value":50})"), kTypeError},
      {"unknown type", json::parse(R"({"type":"GEO","value":50})"), kTypeError},
      {"lower-case type", json::parse(R"({"type":"percentage","value":50})"), kTypeError},
      {"type not a string", json::parse(R"({"type":1,"value":50})"), kTypeError},
      {"type null", json::parse(R"({"type":null,"value":50})"), kTypeError},
      {"empty type", json::parse(R"({"type":"","value":50})"), kTypeError},
      // unknown keys
      {"extra key on PERCENTAGE", json::parse(R"({"type":"PERCENTAGE","value":50,"salt":"x"})"),
       "rules has unknown key 'salt'; a PERCENTAGE rule has only type and value"},
      {"values on PERCENTAGE", json::parse(R"({"type":"PERCENTAGE","value":50,"values":[]})"),
       "rules has unknown key 'values'; a PERCENTAGE rule has only type and value"},
      {"value on USER_LIST", json::parse(R"({"type":"USER_LIST","value":50,"values":["a"]})"),
       "rules has unknown key 'value'; a USER_LIST rule has only type and values"},
      {"unprintable unknown key", json::parse("{\"type\":\"PERCENTAGE\",\"value\":50,\"\\u0007\":1}"),
       "rules has unknown key (not shown); a PERCENTAGE rule has only type and value"},
      {"long unknown key", json{{"type", "PERCENTAGE"}, {"value", 50}, {std::string(65, 'k'), 1}},
       "rules has unknown key (not shown); a PERCENTAGE rule has only type and value"},
      // PERCENTAGE value
      {"missing value", json::parse(R"({"type":"PERCENTAGE"})"), kValueError},
      {"value as string", json::parse(R"({"type":"PERCENTAGE","value":"50"})"), kValueError},
      {"value bool", json::parse(R"({"type":"PERCENTAGE","value":true})"), kValueError},
      {"value null", json::parse(R"({"type":"PERCENTAGE","value":null})"), kValueError},
      {"value array", json::parse(R"({"type":"PERCENTAGE","value":[50]})"), kValueError},
      {"value object", json::parse(R"({"type":"PERCENTAGE","value":{"v":50}})"), kValueError},
      {"value negative", json::parse(R"({"type":"PERCENTAGE","value":-1})"), kValueError},
      {"value slightly negative", json::parse(R"({"type":"PERCENTAGE","value":-0.0001})"), kValueError},
      {"value above 100", json::parse(R"({"type":"PERCENTAGE","value":100.0001})"), kValueError},
      {"value 101", json::parse(R"({"type":"PERCENTAGE","value":101})"), kValueError},
      {"value huge unsigned", json::parse(R"({"type":"PERCENTAGE","value":18446744073709551615})"), kValueError},
      {"value NaN", json{{"type", "PERCENTAGE"}, {"value", nan}}, kValueError},
      {"value +inf", json{{"type", "PERCENTAGE"}, {"value", inf}}, kValueError},
      {"value -inf", json{{"type", "PERCENTAGE"}, {"value", -inf}}, kValueError},
      // USER_LIST values
      {"missing values", json::parse(R"({"type":"USER_LIST"})"), kValuesError},
      {"values a string", json::parse(R"({"type":"USER_LIST","values":"u1"})"), kValuesError},
      {"values an object", json::parse(R"({"type":"USER_LIST","values":{"u1":true}})"), kValuesError},
      {"values null", json::parse(R"({"type":"USER_LIST","values":null})"), kValuesError},
      {"number in values", json::parse(R"({"type":"USER_LIST","values":["u1",2]})"), kValuesError + "; item 1 is not"},
      {"null in values", json::parse(R"({"type":"USER_LIST","values":[null]})"), kValuesError + "; item 0 is not"},
      {"empty user id", json::parse(R"({"type":"USER_LIST","values":["u1",""]})"), kValuesError + "; item 1 is not"},
      {"user id too long",
       json{{"type", "USER_LIST"}, {"values", json::array({std::string(kMaxUserIdLength + 1, 'x')})}},
       kValuesError + "; item 0 is not"},
      {"control char in user id", json::parse(R"({"type":"USER_LIST","values":["a\nb"]})"),
       kValuesError + "; item 0 is not"},
      {"too many users", json{{"type", "USER_LIST"}, {"values", too_many}},
       "rules.values must have at most 10000 user ids"},
  };
}

TEST(ParseRule, RejectsWithAMessageNamingTheProblem) {
  for (const auto& c : reject_cases()) {
    std::string error;
    EXPECT_FALSE(parse(c.input, error)) << c.name;
    EXPECT_EQ(error, c.expected_error) << c.name;
  }
}

TEST(ParseRule, TypeErrorListsTheValidTypes) {
  std::string error;
  ASSERT_FALSE(parse(json::parse(R"({"type":"GEO"})"), error));
  EXPECT_NE(error.find("PERCENTAGE"), std::string::npos);
  EXPECT_NE(error.find("USER_LIST"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// to_json()

TEST(ToJson, CanonicalForms) {
  EXPECT_EQ(to_json(percentage_rule(50)).dump(), R"({"type":"PERCENTAGE","value":50})");
  EXPECT_EQ(to_json(percentage_rule(50.0)).dump(), R"({"type":"PERCENTAGE","value":50})");
  EXPECT_EQ(to_json(percentage_rule(0)).dump(), R"({"type":"PERCENTAGE","value":0})");
  EXPECT_EQ(to_json(percentage_rule(-0.0)).dump(), R"({"type":"PERCENTAGE","value":0})");
  EXPECT_EQ(to_json(percentage_rule(100)).dump(), R"({"type":"PERCENTAGE","value":100})");
  EXPECT_EQ(to_json(percentage_rule(12.5)).dump(), R"({"type":"PERCENTAGE","value":12.5})");
  EXPECT_EQ(to_json(user_list_rule({"b", "a", "b"})).dump(), R"({"type":"USER_LIST","values":["b","a"]})")
      << "each id once, where it first appears";
  EXPECT_EQ(to_json(user_list_rule({})).dump(), R"({"type":"USER_LIST","values":[]})");
}

TEST(ToJson, RoundTrips) {
  for (const char* text : {
           R"({"type":"PERCENTAGE","value":0})",
           R"({"type":"PERCENTAGE","value":50})",
           R"({"type":"PERCENTAGE","value":100})",
           R"({"type":"PERCENTAGE","value":33.3})",
           R"({"type":"PERCENTAGE","value":0.001})",
           R"({"type":"USER_LIST","values":[]})",
           R"({"type":"USER_LIST","values":["z","a","jos\u00e9"]})",
       }) {
    const json input = json::parse(text);
    std::string error;
    const auto rule = parse_rule(input, error);
    ASSERT_TRUE(rule) << text << ": " << error;
    const json output = to_json(*rule);
    EXPECT_EQ(output, input) << text;
    // And once more: canonical output parses back to the same canonical output.
    const auto again = parse_rule(output, error);
    ASSERT_TRUE(again) << error;
    EXPECT_EQ(to_json(*again).dump(), output.dump());
  }
}

TEST(ToJson, PercentageWrittenAsFloatIsCanonicalisedToInteger) {
  std::string error;
  const auto rule = parse_rule(json::parse(R"({"type":"PERCENTAGE","value":50.0})"), error);
  ASSERT_TRUE(rule) << error;
  EXPECT_EQ(to_json(*rule).dump(), R"({"type":"PERCENTAGE","value":50})");
}

// ---------------------------------------------------------------------------------------------
// is_valid_flag_name()

struct NameCase {
  const char* name;
  std::string input;
  bool valid;
};

TEST(IsValidFlagName, Table) {
  const std::vector<NameCase> cases = {
      {"empty", "", false},
      {"one char", "a", true},
      {"one digit", "7", true},
      {"100 chars", std::string(100, 'a'), true},
      {"101 chars", std::string(101, 'a'), false},
      {"typical", "enable-new-dashboard", true},
      {"mixed case and digits", "CheckoutV2", true},
      {"underscore", "my_flag", true},
      {"dot", "checkout.v2", true},
      {"hyphen", "new-ui", true},
      {"only punctuation", "_.-", true},
      {"dot dot", "..", false},  // cannot be addressed in a URL path
      {"dot", ".", false},
      {"three dots", "...", true},
      {"slash", "a/b", false},
      {"space", "a b", false},
      {"leading space", " a", false},
      {"percent", "a%20b", false},
      {"unicode", "caf\xc3\xa9", false},
      {"colon", "a:b", false},
      {"plus", "a+b", false},
      {"question mark", "a?b", false},
      {"hash", "a#b", false},
      {"backslash", "a\\b", false},
      {"newline", "a\nb", false},
      {"nul byte", std::string("a\0b", 3), false},
      {"tab", "a\tb", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_valid_flag_name(c.input), c.valid) << c.name;
  }
}

TEST(IsValidFlagName, EveryByte) {
  for (int c = 0; c < 256; ++c) {
    const bool expected =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';  // not "."
    EXPECT_EQ(is_valid_flag_name(std::string(1, static_cast<char>(c))), expected) << "byte " << c;
  }
}

// ---------------------------------------------------------------------------------------------
// is_valid_user_id()

TEST(IsValidUserId, Table) {
  const std::vector<NameCase> cases = {
      {"empty", "", false},
      {"one char", "u", true},
      {"256 bytes", std::string(256, 'u'), true},
      {"257 bytes", std::string(257, 'u'), false},
      {"email", "alice@example.com", true},
      {"spaces and punctuation", "Alice Smith / #1 %20 ?&=", true},
      {"unicode", "jos\xc3\xa9", true},
      {"128 two-byte chars = 256 bytes",
       [] {
         std::string s;
         for (int i = 0; i < 128; ++i) s += "\xc3\xa9";
         return s;
       }(),
       true},
      {"129 two-byte chars = 258 bytes: characters are counted, not bytes",
       [] {
         std::string s;
         for (int i = 0; i < 129; ++i) s += "\xc3\xa9";
         return s;
       }(),
       true},
      {"256 two-byte chars",
       [] {
         std::string s;
         for (int i = 0; i < 256; ++i) s += "\xc3\xa9";
         return s;
       }(),
       true},
      {"257 two-byte chars",
       [] {
         std::string s;
         for (int i = 0; i < 257; ++i) s += "\xc3\xa9";
         return s;
       }(),
       false},
      {"newline", "a\nb", false},
      {"carriage return", "a\rb", false},
      {"tab", "a\tb", false},
      {"nul byte", std::string("a\0b", 3), false},
      {"unit separator 0x1f", "a\x1f", false},
      {"DEL 0x7f", "a\x7f", false},
      {"space 0x20", " ", true},
      {"tilde 0x7e", "~", true},
      {"lone continuation byte 0x80: no character", "\x80", false},
      {"high byte 0xff", "\xff", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(is_valid_user_id(c.input), c.valid) << c.name;
  }
}

TEST(IsValidUserId, EveryByte) {
  for (int c = 0; c < 256; ++c) {
    // Control characters are refused; a lone UTF-8 continuation byte (0x80-0xbf) is no character.
    const bool expected = c >= 0x20 && c != 0x7f && !(c >= 0x80 && c <= 0xbf);
    EXPECT_EQ(is_valid_user_id(std::string(1, static_cast<char>(c))), expected) << "byte " << c;
  }
}

TEST(RuleType, WireNames) {
  EXPECT_EQ(to_string(RuleType::percentage), "PERCENTAGE");
  EXPECT_EQ(to_string(RuleType::user_list), "USER_LIST");
}

}  // namespace
