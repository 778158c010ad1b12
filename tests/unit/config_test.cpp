// Unit tests for libs/core config.hpp (Env): typed settings from environment variables, with every
// problem collected and naming its variable. Each case uses its own variable name.
#include "toggle/core/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

// Sets a fresh variable for the lifetime of the object (unset when `value` is nullopt).
class ScopedEnv {
 public:
  explicit ScopedEnv(std::optional<std::string> value) {
    static std::atomic<int> counter{0};
    name_ = "TOGGLE_UNIT_CONFIG_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    if (value)
      ::setenv(name_.c_str(), value->c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }
  ~ScopedEnv() { ::unsetenv(name_.c_str()); }
  const char* name() const { return name_.c_str(); }

 private:
  std::string name_;
};

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems)
    if (p.find(text) != std::string::npos) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// integer

struct IntCase {
  const char* name;
  std::optional<std::string> value;  // nullopt: unset
  std::int64_t min, max;
  std::int64_t expected;  // the fallback is 7
  bool problem;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const IntCase& c, std::ostream* os) { *os << c.name; }

const std::vector<IntCase> kIntCases = {
    {"Unset", std::nullopt, 0, 100, 7, false},
    {"InRange", "42", 0, 100, 42, false},
    {"AtMinimum", "0", 0, 100, 0, false},
    {"AtMaximum", "100", 0, 100, 100, false},
    {"Negative", "-5", -10, 10, -5, false},
    {"ExplicitPlus", "+9", 0, 100, 9, false},
    {"LargeInRange", "9000000000", 0, INT64_MAX, 9000000000, false},
    {"BelowMinimum", "-1", 0, 100, 7, true},
    {"AboveMaximum", "101", 0, 100, 7, true},
    {"Overflow", "99999999999999999999", 0, INT64_MAX, 7, true},
    {"NonNumeric", "abc", 0, 100, 7, true},
    {"TrailingGarbage", "12abc", 0, 100, 7, true},
    {"TrailingSpace", "12 ", 0, 100, 7, true},
    {"Decimal", "1.5", 0, 100, 7, true},
    {"OnlySign", "-", -10, 10, 7, true},
};

class EnvInteger : public testing::TestWithParam<IntCase> {};

TEST_P(EnvInteger, ParsesAndChecksTheRange) {
  const auto& c = GetParam();
  ScopedEnv var(c.value);
  toggle::Env env;
  EXPECT_EQ(env.integer(var.name(), 7, c.min, c.max), c.expected);
  if (c.problem) {
    ASSERT_EQ(env.problems().size(), 1u);
    EXPECT_TRUE(mentions(env.problems(), var.name())) << env.problems()[0];
    EXPECT_TRUE(mentions(env.problems(), std::to_string(c.min))) << env.problems()[0];
    EXPECT_TRUE(mentions(env.problems(), std::to_string(c.max))) << env.problems()[0];
  } else {
    EXPECT_TRUE(env.problems().empty()) << env.problems()[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, EnvInteger, testing::ValuesIn(kIntCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// boolean

struct BoolCase {
  const char* name;
  std::optional<std::string> value;
  bool fallback;
  bool expected;
  bool problem;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const BoolCase& c, std::ostream* os) { *os << c.name; }

const std::vector<BoolCase> kBoolCases = {
    {"UnsetFallsBackTrue", std::nullopt, true, true, false},
    {"UnsetFallsBackFalse", std::nullopt, false, false, false},
    {"EmptyIsAProblem", "", true, true, true},
    {"True", "true", false, true, false},
    {"False", "false", true, false, false},
    {"One", "1", false, true, false},
    {"Zero", "0", true, false, false},
    {"Yes", "yes", false, true, false},
    {"No", "no", true, false, false},
    {"On", "on", false, true, false},
    {"Off", "off", true, false, false},
    {"GarbageKeepsFallbackTrue", "maybe", true, true, true},
    {"GarbageKeepsFallbackFalse", "maybe", false, false, true},
    {"Two", "2", false, false, true},
    {"TrueWithTrailingSpace", "true ", false, false, true},
    {"Prefix", "t", false, false, true},
};

class EnvBoolean : public testing::TestWithParam<BoolCase> {};

TEST_P(EnvBoolean, Parses) {
  const auto& c = GetParam();
  ScopedEnv var(c.value);
  toggle::Env env;
  EXPECT_EQ(env.boolean(var.name(), c.fallback), c.expected);
  if (c.problem) {
    ASSERT_EQ(env.problems().size(), 1u);
    EXPECT_TRUE(mentions(env.problems(), var.name())) << env.problems()[0];
    EXPECT_TRUE(mentions(env.problems(), *c.value)) << env.problems()[0];
  } else {
    EXPECT_TRUE(env.problems().empty()) << env.problems()[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, EnvBoolean, testing::ValuesIn(kBoolCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// url

struct UrlCase {
  const char* name;
  std::optional<std::string> value;
  std::string fallback;
  std::string expected;
  bool problem;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const UrlCase& c, std::ostream* os) { *os << c.name; }

const std::vector<UrlCase> kUrlCases = {
    {"Http", "http://auth:8001", "http://x", "http://auth:8001", false},
    {"Https", "https://auth.example.com", "http://x", "https://auth.example.com", false},
    {"TrailingSlashStripped", "http://auth:8001/", "http://x", "http://auth:8001", false},
    {"SeveralTrailingSlashesStripped", "https://h/base///", "http://x", "https://h/base", false},
    {"PathKept", "http://h:1/api/v1", "http://x", "http://h:1/api/v1", false},
    {"UnsetUsesFallback", std::nullopt, "http://localhost:8001/", "http://localhost:8001", false},
    {"EmptyIsAProblem", "", "http://localhost:8001", "", true},
    {"Ftp", "ftp://files.example.com", "http://x", "", true},
    {"NoScheme", "localhost:8001", "http://x", "", true},
    {"Garbage", "not a url", "http://x", "", true},
    {"SchemeWithoutSlashes", "http:auth", "http://x", "", true},
    {"BadFallbackIsAProblemToo", std::nullopt, "garbage", "", true},
    {"EmptyFallbackAndUnset", std::nullopt, "", "", true},
};

class EnvUrl : public testing::TestWithParam<UrlCase> {};

TEST_P(EnvUrl, AcceptsOnlyHttpBaseUrls) {
  const auto& c = GetParam();
  ScopedEnv var(c.value);
  toggle::Env env;
  std::string got = env.url(var.name(), c.fallback);
  if (c.problem) {
    ASSERT_EQ(env.problems().size(), 1u);
    EXPECT_TRUE(mentions(env.problems(), var.name())) << env.problems()[0];
  } else {
    EXPECT_EQ(got, c.expected);
    EXPECT_TRUE(env.problems().empty()) << env.problems()[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, EnvUrl, testing::ValuesIn(kUrlCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(EnvUrlTest, SchemeWithoutHostIsRejected) {
  // Regression (fixed): Env::url (config.cpp:56-64) accepts "http://" (no host) and strips its slashes, so the
  // service starts with the base URL "http:" and every call to it fails at run time.
  ScopedEnv var(std::string("http://"));
  toggle::Env env;
  env.url(var.name(), "http://x");
  EXPECT_EQ(env.problems().size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// millis, str, required, and problems accumulating

TEST(EnvMillis, ReadsMillisecondsInRange) {
  ScopedEnv var(std::string("250"));
  toggle::Env env;
  EXPECT_EQ(env.millis(var.name(), 1000, 1, 60000), std::chrono::milliseconds(250));
  EXPECT_TRUE(env.problems().empty());
}

TEST(EnvMillis, UnsetUsesTheFallback) {
  ScopedEnv var(std::nullopt);
  toggle::Env env;
  EXPECT_EQ(env.millis(var.name(), 1500, 1, 60000), std::chrono::milliseconds(1500));
  EXPECT_TRUE(env.problems().empty());
}

TEST(EnvMillis, OutOfRangeOrNonNumericIsAProblemAndFallsBack) {
  for (const char* bad : {"0", "60001", "10s", "-3"}) {
    ScopedEnv var(std::string{bad});
    toggle::Env env;
    EXPECT_EQ(env.millis(var.name(), 1500, 1, 60000), std::chrono::milliseconds(1500)) << bad;
    ASSERT_EQ(env.problems().size(), 1u) << bad;
    EXPECT_TRUE(mentions(env.problems(), var.name())) << env.problems()[0];
  }
}

TEST(EnvStr, ValueOrFallback) {
  ScopedEnv set(std::string("value"));
  ScopedEnv unset(std::nullopt);
  ScopedEnv empty(std::string(""));
  toggle::Env env;
  EXPECT_EQ(env.str(set.name(), "fb"), "value");
  EXPECT_EQ(env.str(unset.name(), "fb"), "fb");
  EXPECT_TRUE(env.problems().empty());
  // Set to the empty string: a mistake (an unfilled secret, a typo), not the default.
  EXPECT_EQ(env.str(empty.name(), "fb"), "fb");
  ASSERT_EQ(env.problems().size(), 1u);
  EXPECT_NE(env.problems()[0].find(empty.name()), std::string::npos);
  EXPECT_NE(env.problems()[0].find("empty"), std::string::npos);
}

TEST(EnvEmpty, AnEmptyVariableIsAProblemForEveryKindOfSetting) {
  ScopedEnv empty(std::string(""));
  toggle::Env env;
  EXPECT_EQ(env.integer(empty.name(), 7, 0, 100), 7);
  EXPECT_EQ(env.boolean(empty.name(), true), true);
  EXPECT_EQ(env.millis(empty.name(), 5, 0, 10).count(), 5);
  ASSERT_EQ(env.problems().size(), 3u);
  for (const auto& p : env.problems()) EXPECT_NE(p.find("empty string"), std::string::npos) << p;
}

TEST(EnvRequired, MissingWithoutFallbackIsAProblem) {
  ScopedEnv unset(std::nullopt);
  ScopedEnv empty(std::string(""));
  ScopedEnv set(std::string("secret"));
  toggle::Env env;
  EXPECT_EQ(env.required(set.name(), ""), "secret");
  EXPECT_EQ(env.required(unset.name(), "default"), "default");
  EXPECT_TRUE(env.problems().empty());
  EXPECT_EQ(env.required(unset.name(), ""), "");
  EXPECT_EQ(env.required(empty.name(), ""), "");
  ASSERT_EQ(env.problems().size(), 2u);
  EXPECT_NE(env.problems()[0].find(unset.name()), std::string::npos);
  EXPECT_NE(env.problems()[1].find(empty.name()), std::string::npos);
}

TEST(EnvProblems, EveryBadVariableIsNamedInOrder) {
  ScopedEnv a(std::string("x")), b(std::string("maybe")), c(std::string("gopher://h")), ok(std::string("5"));
  toggle::Env env;
  env.integer(a.name(), 1, 0, 10);
  env.integer(ok.name(), 1, 0, 10);
  env.boolean(b.name(), false);
  env.url(c.name(), "http://x");
  env.fail("custom problem");
  ASSERT_EQ(env.problems().size(), 4u);
  EXPECT_NE(env.problems()[0].find(a.name()), std::string::npos);
  EXPECT_NE(env.problems()[1].find(b.name()), std::string::npos);
  EXPECT_NE(env.problems()[2].find(c.name()), std::string::npos);
  EXPECT_EQ(env.problems()[3], "custom problem");
}

TEST(EnvProblemsDeathTest, ExitIfInvalidReturnsWhenThereAreNone) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  toggle::Env env;
  // Returning is the behaviour under test: the child goes on to exit with 0, not with 2.
  EXPECT_EXIT(
      {
        env.exit_if_invalid("unit-test");
        std::exit(0);
      },
      testing::ExitedWithCode(0), "");
}

TEST(EnvProblemsDeathTest, ExitIfInvalidExitsWithStatus2) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  toggle::Env env;
  env.fail("X is broken");
  EXPECT_EXIT(env.exit_if_invalid("unit-test"), testing::ExitedWithCode(2), "");
}

}  // namespace
