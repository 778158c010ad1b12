// resolve(): every operator with its edge cases, reasons, splits (stability, independence,
// distribution), the legacy rules' mapping, and that evaluation does not allocate.
#include "toggle/rules/resolve.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <limits>
#include <map>
#include <new>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "toggle/rules/hash.hpp"

// Counts heap allocations on this thread while `counting` is set, to check that resolve() does
// not allocate. Replacing the global operator new is allowed in one translation unit of a program.
// GCC 12 flags free() in a replaced operator delete once inlined, although it pairs with the
// malloc() in the replaced operator new.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
thread_local bool counting = false;
thread_local long allocations = 0;
}  // namespace
namespace {
void* counted_malloc(std::size_t size) noexcept {
  if (counting) ++allocations;
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace
// Every replaceable form that does not take an alignment, so that new and delete always pair up.
void* operator new(std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_malloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using namespace toggle::rules;
using nlohmann::json;

Targeting targeting(const json& rules) {
  std::string error;
  auto t = parse_targeting(rules, error);
  EXPECT_TRUE(t) << rules.dump() << ": " << error;
  return t.value_or(Targeting(percentage_rule(0)));
}

Context context(const char* text) {
  std::string error;
  auto c = Context::from_json(json::parse(text), error);
  EXPECT_TRUE(c) << text << ": " << error;
  return c.value_or(Context{});
}

FlagVariants variants(const char* text) {
  std::string error;
  auto v = parse_flag_variants(json::parse(text), error);
  EXPECT_TRUE(v) << text << ": " << error;
  return v.value_or(FlagVariants{});
}

Segment segment(const char* text) {
  std::string error;
  auto s = parse_segment(json::parse(text), error);
  EXPECT_TRUE(s) << text << ": " << error;
  return *s;
}

// A boolean flag that serves "off" unless a rule matches, so a match is visible.
Flag off_by_default_flag(std::string name) { return Flag{std::move(name), true, variants(R"({"default_variant":"off"})")}; }
const Flag& off_by_default() {
  static const Flag flag = off_by_default_flag("flag");
  return flag;
}

const SegmentSet& test_segments() {
  static const SegmentSet segments({
      segment(R"({"name":"staff","conditions":[{"attribute":"email","operator":"ends_with","value":"@acme.com"}]})"),
      segment(R"({"name":"brazil-pro","conditions":[{"attribute":"country","operator":"eq","value":"BR"},
                                                    {"attribute":"plan","operator":"eq","value":"pro"}]})"),
      segment(R"({"name":"everyone"})"),
  });
  return segments;
}

// Whether one condition holds for a context (through a one-rule flag).
bool holds(const json& condition, const char* context_text) {
  const Targeting t = targeting(json::array({{{"conditions", json::array({condition})}, {"serve", {{"variant", "on"}}}}}));
  const Resolution r = resolve(off_by_default(), &t, test_segments(), context(context_text));
  EXPECT_NE(r.reason, Reason::error);
  return r.reason == Reason::targeting_match;
}

struct OperatorCase {
  const char* name;
  json condition;
  const char* context;
  bool expected;
};

json cond(const char* attribute, const char* op, const json& value) {
  const bool list = std::string(op) == "in" || std::string(op) == "not_in";
  return {{"attribute", attribute}, {"operator", op}, {list ? "values" : "value", value}};
}
json cond(const char* attribute, const char* op) { return {{"attribute", attribute}, {"operator", op}}; }

void run(const std::vector<OperatorCase>& cases) {
  for (const auto& c : cases) {
    EXPECT_EQ(holds(c.condition, c.context), c.expected) << c.name << ": " << c.condition.dump() << " on " << c.context;
  }
}

// ---------------------------------------------------------------------------------------------
// Operators

TEST(Operators, Eq) {
  run({
      {"same string", cond("country", "eq", "BR"), R"({"country":"BR"})", true},
      {"other string", cond("country", "eq", "BR"), R"({"country":"PT"})", false},
      {"case-sensitive", cond("country", "eq", "BR"), R"({"country":"br"})", false},
      {"missing", cond("country", "eq", "BR"), R"({})", false},
      {"null is missing", cond("country", "eq", "BR"), R"({"country":null})", false},
      {"number is not its text", cond("age", "eq", "5"), R"({"age":5})", false},
      {"text is not a number", cond("age", "eq", 5), R"({"age":"5"})", false},
      {"numbers numerically", cond("age", "eq", 5), R"({"age":5.0})", true},
      {"float", cond("score", "eq", 0.5), R"({"score":0.5})", true},
      {"boolean", cond("beta", "eq", true), R"({"beta":true})", true},
      {"boolean false", cond("beta", "eq", true), R"({"beta":false})", false},
      {"boolean is not its text", cond("beta", "eq", true), R"({"beta":"true"})", false},
      {"boolean is not 1", cond("beta", "eq", true), R"({"beta":1})", false},
      {"object never equals", cond("user", "eq", "x"), R"({"user":{"a":1}})", false},
      {"nested path", cond("user.plan", "eq", "pro"), R"({"user":{"plan":"pro"}})", true},
      {"array: one element", cond("groups", "eq", "dev"), R"({"groups":["admin","dev"]})", true},
      {"array: none", cond("groups", "eq", "ops"), R"({"groups":["admin","dev"]})", false},
      {"array: empty", cond("groups", "eq", "ops"), R"({"groups":[]})", false},
      {"array of arrays not searched", cond("groups", "eq", "x"), R"({"groups":[["x"]]})", false},
      {"unicode bytes", cond("city", "eq", "S\xc3\xa3o Paulo"), R"({"city":"São Paulo"})", true},
      {"no normalisation (NFD)", cond("city", "eq", "S\xc3\xa3o Paulo"), R"({"city":"Sa\u0303o Paulo"})", false},
      {"empty string", cond("city", "eq", ""), R"({"city":""})", true},
  });
}

TEST(Operators, Neq) {
  run({
      {"different", cond("country", "neq", "BR"), R"({"country":"PT"})", true},
      {"same", cond("country", "neq", "BR"), R"({"country":"BR"})", false},
      {"missing never matches", cond("country", "neq", "BR"), R"({})", false},
      {"other type is not equal", cond("age", "neq", "5"), R"({"age":5})", true},
      {"array containing it", cond("groups", "neq", "dev"), R"({"groups":["admin","dev"]})", false},
      {"array without it", cond("groups", "neq", "ops"), R"({"groups":["admin","dev"]})", true},
      {"object", cond("user", "neq", "x"), R"({"user":{}})", true},
  });
}

TEST(Operators, InAndNotIn) {
  json big = json::array();
  for (int i = 0; i < 10'000; ++i) big.push_back("user-" + std::to_string(i));
  run({
      {"in: listed", cond("country", "in", {"BR", "PT"}), R"({"country":"PT"})", true},
      {"in: not listed", cond("country", "in", {"BR", "PT"}), R"({"country":"ES"})", false},
      {"in: missing", cond("country", "in", {"BR", "PT"}), R"({})", false},
      {"in: number", cond("tier", "in", {1, 2, 3}), R"({"tier":3})", true},
      {"in: number as float", cond("tier", "in", {1, 2, 3}), R"({"tier":3.0})", true},
      {"in: text is not a number", cond("tier", "in", {1, 2, 3}), R"({"tier":"3"})", false},
      {"in: number is not text", cond("tier", "in", {"3"}), R"({"tier":3})", false},
      {"in: boolean", cond("beta", "in", {false}), R"({"beta":false})", true},
      {"in: boolean absent from the list", cond("beta", "in", {false, "true"}), R"({"beta":true})", false},
      {"in: mixed list", cond("x", "in", {"a", 1, true}), R"({"x":true})", true},
      {"in: array, one listed", cond("groups", "in", {"ops", "dev"}), R"({"groups":["admin","dev"]})", true},
      {"in: array, none listed", cond("groups", "in", {"ops"}), R"({"groups":["admin","dev"]})", false},
      {"in: 10,000 values, hit", cond("targetingKey", "in", big), R"({"targetingKey":"user-7777"})", true},
      {"in: 10,000 values, miss", cond("targetingKey", "in", big), R"({"targetingKey":"user-10000"})", false},
      {"in: 10,000 values, prefix", cond("targetingKey", "in", big), R"({"targetingKey":"user-"})", false},
      {"in: unicode", cond("name", "in", {"jos\xc3\xa9"}), R"({"name":"josé"})", true},
      {"not_in: listed", cond("country", "not_in", {"BR", "PT"}), R"({"country":"BR"})", false},
      {"not_in: not listed", cond("country", "not_in", {"BR", "PT"}), R"({"country":"ES"})", true},
      {"not_in: missing never matches", cond("country", "not_in", {"BR"}), R"({})", false},
      {"not_in: other type", cond("country", "not_in", {"1"}), R"({"country":1})", true},
      {"not_in: array with a listed element", cond("groups", "not_in", {"dev"}), R"({"groups":["admin","dev"]})", false},
      {"not_in: array without", cond("groups", "not_in", {"ops"}), R"({"groups":["admin","dev"]})", true},
  });
}

TEST(Operators, NotANumberMatchesNoNumber) {
  // Only a context built in code can hold NaN (JSON cannot): it equals nothing, is in no list and
  // compares with nothing.
  const Context c = Context().set("n", Attribute::of_number(std::numeric_limits<double>::quiet_NaN()));
  for (const json& condition : {cond("n", "in", {1, 2, 3}), cond("n", "eq", 1), cond("n", "lt", 1e300), cond("n", "gte", -1e300)}) {
    const Targeting t = targeting(json::array({{{"conditions", json::array({condition})}, {"serve", {{"variant", "on"}}}}}));
    EXPECT_EQ(resolve(off_by_default(), &t, {}, c).reason, Reason::no_rule_matched) << condition.dump();
  }
}

TEST(Operators, ContainsStartsEnds) {
  run({
      {"contains", cond("email", "contains", "@example"), R"({"email":"ana@example.com"})", true},
      {"contains: no", cond("email", "contains", "@acme"), R"({"email":"ana@example.com"})", false},
      {"contains: case-sensitive", cond("email", "contains", "EXAMPLE"), R"({"email":"ana@example.com"})", false},
      {"contains: whole", cond("email", "contains", "ana@example.com"), R"({"email":"ana@example.com"})", true},
      {"contains: longer than the value", cond("email", "contains", "ana@example.com!"), R"({"email":"ana@example.com"})", false},
      {"contains: number", cond("zip", "contains", "12"), R"({"zip":12345})", false},
      {"contains: missing", cond("email", "contains", "@"), R"({})", false},
      {"contains: unicode", cond("city", "contains", "S\xc3\xa3o"), R"({"city":"São Paulo"})", true},
      {"contains: array element", cond("tags", "contains", "beta"), R"({"tags":["x","closed-beta"]})", true},
      {"starts_with", cond("email", "starts_with", "ana"), R"({"email":"ana@example.com"})", true},
      {"starts_with: no", cond("email", "starts_with", "bob"), R"({"email":"ana@example.com"})", false},
      {"starts_with: empty value", cond("email", "starts_with", "a"), R"({"email":""})", false},
      {"starts_with: boolean", cond("flag", "starts_with", "t"), R"({"flag":true})", false},
      {"ends_with", cond("email", "ends_with", "@example.com"), R"({"email":"ana@example.com"})", true},
      {"ends_with: no", cond("email", "ends_with", "@example.org"), R"({"email":"ana@example.com"})", false},
      {"ends_with: unicode", cond("name", "ends_with", "\xc3\xa9"), R"({"name":"josé"})", true},
  });
}

TEST(Operators, Matches) {
  run({
      {"anchored", cond("email", "matches", "^[a-z]+@example\\.com$"), R"({"email":"ana@example.com"})", true},
      {"anchored: no", cond("email", "matches", "^[a-z]+@example\\.com$"), R"({"email":"ana1@example.com"})", false},
      {"partial match", cond("email", "matches", "ple\\.c"), R"({"email":"ana@example.com"})", true},
      {"case-sensitive", cond("email", "matches", "EXAMPLE"), R"({"email":"ana@example.com"})", false},
      {"(?i)", cond("email", "matches", "(?i)EXAMPLE"), R"({"email":"ana@example.com"})", true},
      {"number", cond("zip", "matches", "^1"), R"({"zip":12345})", false},
      {"missing", cond("email", "matches", "."), R"({})", false},
      {"UTF-8: . is a character", cond("name", "matches", "^.{4}$"), R"({"name":"josé"})", true},
      {"UTF-8: classes", cond("city", "matches", "^S\\pL+o"), R"({"city":"São Paulo"})", true},
      {"array element", cond("tags", "matches", "^v[0-9]+$"), R"({"tags":["x","v2"]})", true},
      // A pattern that backtracking engines take exponential time on: RE2 answers in linear time.
      {"no catastrophic backtracking", cond("s", "matches", "^(a+)+$"),
       R"({"s":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"})", false},
  });
}

TEST(Operators, Numeric) {
  run({
      {"lt", cond("age", "lt", 18), R"({"age":17})", true},
      {"lt: equal", cond("age", "lt", 18), R"({"age":18})", false},
      {"lte: equal", cond("age", "lte", 18), R"({"age":18})", true},
      {"lte: above", cond("age", "lte", 18), R"({"age":18.01})", false},
      {"gt", cond("age", "gt", 18), R"({"age":19})", true},
      {"gt: equal", cond("age", "gt", 18), R"({"age":18})", false},
      {"gte: equal", cond("age", "gte", 18), R"({"age":18})", true},
      {"gte: below", cond("age", "gte", 18), R"({"age":17.999})", false},
      {"negative and fractional", cond("t", "lt", -0.5), R"({"t":-1})", true},
      {"large", cond("n", "gt", 1e15), R"({"n":1000000000000001})", true},
      {"unsigned 64-bit", cond("n", "gt", 1e19), R"({"n":18446744073709551615})", true},
      {"text is not a number", cond("age", "lt", 18), R"({"age":"17"})", false},
      {"boolean is not a number", cond("age", "lt", 18), R"({"age":false})", false},
      {"missing", cond("age", "gte", 0), R"({})", false},
      {"array element", cond("scores", "gt", 90), R"({"scores":[10,95]})", true},
  });
}

TEST(Operators, SemVer) {
  run({
      {"eq", cond("v", "semver_eq", "1.2.3"), R"({"v":"1.2.3"})", true},
      {"eq: leading v in the context", cond("v", "semver_eq", "1.2.3"), R"({"v":"v1.2.3"})", true},
      {"eq: leading v in the rule", cond("v", "semver_eq", "v1.2.3"), R"({"v":"1.2.3"})", true},
      {"eq: build ignored", cond("v", "semver_eq", "1.2.3"), R"({"v":"1.2.3+456"})", true},
      {"eq: pre-release differs", cond("v", "semver_eq", "1.2.3"), R"({"v":"1.2.3-rc.1"})", false},
      {"lt: pre-release below release", cond("v", "semver_lt", "2.0.0"), R"({"v":"2.0.0-rc.1"})", true},
      {"lt: numeric, not text", cond("v", "semver_lt", "1.10.0"), R"({"v":"1.9.0"})", true},
      {"lt: equal", cond("v", "semver_lt", "1.2.3"), R"({"v":"1.2.3"})", false},
      {"lte: equal", cond("v", "semver_lte", "1.2.3"), R"({"v":"1.2.3"})", true},
      {"gt", cond("v", "semver_gt", "1.9.9"), R"({"v":"1.10.0"})", true},
      {"gt: pre-release ordering", cond("v", "semver_gt", "1.0.0-alpha.1"), R"({"v":"1.0.0-alpha.beta"})", true},
      {"gt: equal", cond("v", "semver_gt", "1.2.3"), R"({"v":"1.2.3"})", false},
      {"gte: equal", cond("v", "semver_gte", "1.2.3"), R"({"v":"1.2.3"})", true},
      {"gte: below", cond("v", "semver_gte", "1.2.3"), R"({"v":"1.2.2"})", false},
      {"invalid: two parts", cond("v", "semver_lt", "9.0.0"), R"({"v":"1.2"})", false},
      {"invalid: leading zero", cond("v", "semver_lt", "9.0.0"), R"({"v":"01.2.3"})", false},
      {"invalid: text", cond("v", "semver_gte", "0.0.0"), R"({"v":"latest"})", false},
      {"invalid: number", cond("v", "semver_gte", "0.0.0"), R"({"v":1})", false},
      {"missing", cond("v", "semver_gte", "0.0.0"), R"({})", false},
      {"nested path", cond("app.version", "semver_gte", "2.0.0"), R"({"app":{"version":"2.1.0"}})", true},
  });
}

TEST(Operators, BeforeAfter) {
  run({
      {"before", cond("signup", "before", "2025-01-01T00:00:00Z"), R"({"signup":"2024-12-31T23:59:59Z"})", true},
      {"before: after it", cond("signup", "before", "2025-01-01T00:00:00Z"), R"({"signup":"2025-01-01T00:00:01Z"})", false},
      {"before: same instant, other offset", cond("signup", "before", "2025-01-01T00:00:00Z"),
       R"({"signup":"2025-01-01T01:00:00+01:00"})", false},
      {"after: same instant", cond("signup", "after", "2025-01-01T00:00:00Z"), R"({"signup":"2024-12-31T21:00:00-03:00"})", false},
      {"after: offsets compared as instants", cond("signup", "after", "2025-01-01T00:00:00Z"),
       R"({"signup":"2025-01-01T00:30:00+00:15"})", true},
      {"after: nanoseconds", cond("signup", "after", "2025-01-01T00:00:00Z"), R"({"signup":"2025-01-01T00:00:00.000000001Z"})", true},
      {"invalid: a date alone", cond("signup", "before", "2030-01-01T00:00:00Z"), R"({"signup":"2025-01-01"})", false},
      {"invalid: no such day", cond("signup", "before", "2030-01-01T00:00:00Z"), R"({"signup":"2025-02-29T00:00:00Z"})", false},
      {"invalid: unix seconds", cond("signup", "before", "2030-01-01T00:00:00Z"), R"({"signup":1735689600})", false},
      {"missing", cond("signup", "after", "2000-01-01T00:00:00Z"), R"({})", false},
  });
}

TEST(Operators, ExistsAndNotExists) {
  run({
      {"exists: string", cond("email", "exists"), R"({"email":"a@b"})", true},
      {"exists: empty string", cond("email", "exists"), R"({"email":""})", true},
      {"exists: false", cond("beta", "exists"), R"({"beta":false})", true},
      {"exists: empty array", cond("tags", "exists"), R"({"tags":[]})", true},
      {"exists: object", cond("user", "exists"), R"({"user":{}})", true},
      {"exists: null", cond("email", "exists"), R"({"email":null})", false},
      {"exists: missing", cond("email", "exists"), R"({})", false},
      {"not_exists: missing", cond("email", "not_exists"), R"({})", true},
      {"not_exists: null", cond("email", "not_exists"), R"({"email":null})", true},
      {"not_exists: present", cond("email", "not_exists"), R"({"email":""})", false},
  });
}

TEST(Operators, InSegment) {
  const auto seg = [](std::vector<std::string> names) { return json{{"operator", "in_segment"}, {"values", names}}; };
  run({
      {"in it", seg({"staff"}), R"({"email":"ana@acme.com"})", true},
      {"not in it", seg({"staff"}), R"({"email":"ana@example.com"})", false},
      {"all its conditions must hold", seg({"brazil-pro"}), R"({"country":"BR","plan":"free"})", false},
      {"all hold", seg({"brazil-pro"}), R"({"country":"BR","plan":"pro"})", true},
      {"any of several", seg({"staff", "brazil-pro"}), R"({"country":"BR","plan":"pro"})", true},
      {"a segment without conditions holds everyone", seg({"everyone"}), R"({})", true},
      {"an unknown segment holds nobody", seg({"gone"}), R"({"email":"ana@acme.com"})", false},
      {"missing attribute", seg({"staff"}), R"({})", false},
  });
}

TEST(Operators, AllConditionsOfARuleMustHold) {
  const json both = json::array({{{"conditions", {cond("country", "eq", "BR"), cond("plan", "eq", "pro")}},
                                  {"serve", {{"variant", "on"}}}}});
  const Targeting t = targeting(both);
  EXPECT_EQ(resolve(off_by_default(), &t, {}, context(R"({"country":"BR","plan":"pro"})")).reason, Reason::targeting_match);
  EXPECT_EQ(resolve(off_by_default(), &t, {}, context(R"({"country":"BR","plan":"free"})")).reason, Reason::no_rule_matched);
  EXPECT_EQ(resolve(off_by_default(), &t, {}, context(R"({"plan":"pro"})")).reason, Reason::no_rule_matched);
}

TEST(Operators, ConditionsAreTestedCheapestFirstWithTheSameAnswer) {
  // A pattern written before a cheap condition that fails: the answer is the same either way.
  const Targeting t = targeting(json::parse(R"([
      {"conditions":[{"attribute":"email","operator":"matches","value":"@example\\.com$"},
                     {"attribute":"plan","operator":"eq","value":"pro"}],"serve":{"variant":"on"}}])"));
  EXPECT_EQ(resolve(off_by_default(), &t, {}, context(R"({"email":"a@example.com","plan":"pro"})")).reason,
            Reason::targeting_match);
  EXPECT_EQ(resolve(off_by_default(), &t, {}, context(R"({"email":"a@example.com","plan":"free"})")).reason,
            Reason::no_rule_matched);
  EXPECT_EQ(resolve(off_by_default(), &t, {}, context(R"({"email":"a@example.org","plan":"pro"})")).reason,
            Reason::no_rule_matched);
}

TEST(Operators, ManyDistinctAttributes) {
  // More distinct attributes than resolve() remembers lookups for (64): the rest are looked up
  // each time, with the same answers.
  json rules = json::array();
  json context_json = json::object();
  for (int i = 0; i < 100; ++i) {
    const std::string name = "attr-" + std::to_string(i);
    rules.push_back({{"conditions", {cond(name.c_str(), "eq", i), cond(name.c_str(), "gte", 0)}},
                     {"serve", {{"variant", i == 99 ? "on" : "off"}}}});
    context_json[name] = i == 99 ? 99 : -1;  // only rule 99's attribute holds
  }
  const Targeting t = targeting(rules);
  std::string error;
  const auto c = Context::from_json(context_json, error);
  ASSERT_TRUE(c) << error;
  const Resolution r = resolve(off_by_default(), &t, {}, *c);
  EXPECT_EQ(r.rule, 99);
  EXPECT_EQ(r.variant->name, "on");
}

// ---------------------------------------------------------------------------------------------
// Reasons and results

const char* kColors = R"({"type":"string","variants":{"blue":"#00f","green":"#0f0","red":"#f00","grey":"#888"},
                          "default_variant":"blue","off_variant":"grey"})";

// resolve() refuses a temporary Flag: its Resolution would point into a destroyed flag.
template <class F>
concept ResolvableWith = requires(F&& f) {
  resolve(std::forward<F>(f), nullptr, std::declval<const SegmentSet&>(), std::declval<const Context&>());
};
static_assert(ResolvableWith<const Flag&>);
static_assert(ResolvableWith<Flag&>);
static_assert(!ResolvableWith<Flag>);

TEST(Resolve, DisabledServesTheOffVariant) {
  const Targeting t = targeting(json::parse(R"([{"serve":{"variant":"red"}}])"));
  const Flag flag{"colors", false, variants(kColors)};
  const Resolution r = resolve(flag, &t, {}, context(R"({"targetingKey":"u"})"));
  EXPECT_EQ(r.reason, Reason::disabled);
  EXPECT_EQ(r.variant->name, "grey");
  EXPECT_EQ(r.variant->value_json, R"("#888")");
  EXPECT_FALSE(r.result);
  EXPECT_EQ(r.rule, -1);

  const Flag disabled{"f", false, {}};
  const Resolution b = resolve(disabled, nullptr, {}, Context{});
  EXPECT_EQ(b.reason, Reason::disabled);
  EXPECT_EQ(b.variant->name, "off");
  EXPECT_FALSE(b.result);
}

TEST(Resolve, NoTargetingIsStatic) {
  const Flag enabled{"f", true, {}};
  const Resolution r = resolve(enabled, nullptr, {}, Context{});
  EXPECT_EQ(r.reason, Reason::no_targeting);
  EXPECT_EQ(r.variant->name, "on");
  EXPECT_TRUE(r.result);  // today's "enabled, no rule -> true"
  const Targeting empty = targeting(json::array());
  EXPECT_EQ(resolve(enabled, &empty, {}, Context{}).reason, Reason::no_targeting);
  const Flag colors{"colors", true, variants(kColors)};
  const Resolution c = resolve(colors, nullptr, {}, Context{});
  EXPECT_EQ(c.variant->name, "blue");
  EXPECT_FALSE(c.result);  // the default variant
}

TEST(Resolve, FirstMatchingRuleWins) {
  const Targeting t = targeting(json::parse(R"([
      {"name":"brazil","conditions":[{"attribute":"country","operator":"eq","value":"BR"}],"serve":{"variant":"green"}},
      {"name":"pros","conditions":[{"attribute":"plan","operator":"eq","value":"pro"}],"serve":{"variant":"red"}},
      {"conditions":[{"attribute":"plan","operator":"eq","value":"free"}],"serve":{"variant":"blue"}}])"));
  const Flag flag{"colors", true, variants(kColors)};

  Resolution r = resolve(flag, &t, {}, context(R"({"country":"BR","plan":"pro"})"));
  EXPECT_EQ(r.reason, Reason::targeting_match);
  EXPECT_EQ(r.variant->name, "green");
  EXPECT_EQ(r.rule, 0);
  EXPECT_EQ(r.rule_name, "brazil");
  EXPECT_TRUE(r.result);

  r = resolve(flag, &t, {}, context(R"({"country":"PT","plan":"pro"})"));
  EXPECT_EQ(r.variant->name, "red");
  EXPECT_EQ(r.rule, 1);
  EXPECT_EQ(r.rule_name, "pros");

  r = resolve(flag, &t, {}, context(R"({"plan":"free"})"));
  EXPECT_EQ(r.reason, Reason::targeting_match);
  EXPECT_EQ(r.variant->name, "blue");
  EXPECT_EQ(r.rule, 2);
  EXPECT_EQ(r.rule_name, "");
  EXPECT_FALSE(r.result);  // a rule served the default variant: not "something else"

  r = resolve(flag, &t, {}, context(R"({"plan":"team"})"));
  EXPECT_EQ(r.reason, Reason::no_rule_matched);
  EXPECT_EQ(r.variant->name, "blue");
  EXPECT_EQ(r.rule, -1);
  EXPECT_FALSE(r.result);
}

TEST(Resolve, BooleanResultIsTheValue) {
  const Targeting t = targeting(json::parse(R"([{"conditions":[{"attribute":"beta","operator":"eq","value":true}],"serve":{"variant":"on"}}])"));
  EXPECT_TRUE(resolve(off_by_default(), &t, {}, context(R"({"beta":true})")).result);
  EXPECT_FALSE(resolve(off_by_default(), &t, {}, context(R"({"beta":false})")).result);
}

TEST(Resolve, AVariantTheFlagLacksIsAnError) {
  const Targeting t = targeting(json::parse(R"([{"serve":{"variant":"purple"}}])"));
  const Flag colors{"colors", true, variants(kColors)};
  const Resolution r = resolve(colors, &t, {}, Context{});
  EXPECT_EQ(r.reason, Reason::error);
  EXPECT_EQ(r.error, ErrorCode::general);
  EXPECT_EQ(r.variant, nullptr);
  EXPECT_FALSE(r.result);
  EXPECT_EQ(error_details(r), "rules[0] serves variant 'purple', which the flag does not have");

  const Targeting named_true = targeting(json::parse(R"([{"serve":{"variant":"true"}}])"));  // a valid name
  EXPECT_EQ(error_details(resolve(colors, &named_true, {}, Context{})),
            "rules[0] serves variant 'true', which the flag does not have");
}

TEST(Resolve, ReasonAndErrorCodeNames) {
  EXPECT_EQ(to_string(Reason::no_targeting), "STATIC");
  EXPECT_EQ(to_string(Reason::targeting_match), "TARGETING_MATCH");
  EXPECT_EQ(to_string(Reason::split), "SPLIT");
  EXPECT_EQ(to_string(Reason::disabled), "DISABLED");
  EXPECT_EQ(to_string(Reason::no_rule_matched), "DEFAULT");
  EXPECT_EQ(to_string(Reason::error), "ERROR");
  EXPECT_EQ(to_string(ErrorCode::flag_not_found), "FLAG_NOT_FOUND");
  EXPECT_EQ(to_string(ErrorCode::parse_error), "PARSE_ERROR");
  EXPECT_EQ(to_string(ErrorCode::targeting_key_missing), "TARGETING_KEY_MISSING");
  EXPECT_EQ(to_string(ErrorCode::invalid_context), "INVALID_CONTEXT");
  EXPECT_EQ(to_string(ErrorCode::general), "GENERAL");
  EXPECT_EQ(to_string(ErrorCode::none), "");
}

// ---------------------------------------------------------------------------------------------
// Splits

json split_rule(int a_weight, const char* by = nullptr) {
  json serve = {{"split", {{{"variant", "on"}, {"weight", a_weight}}, {{"variant", "off"}, {"weight", 10'000 - a_weight}}}}};
  if (by) serve["by"] = by;
  return json::array({{{"serve", serve}}});
}

Context keyed(const std::string& key) { return Context().set("targetingKey", Attribute::of_string(key)); }

TEST(Split, AssignsByCumulativeRangesInOrder) {
  const Targeting t = targeting(json::parse(R"([{"serve":{"split":[
      {"variant":"red","weight":1000},{"variant":"green","weight":0},{"variant":"blue","weight":2500},{"variant":"grey","weight":6500}]}}])"));
  const Flag flag{"colors", true, variants(kColors)};
  for (int i = 0; i < 5'000; ++i) {
    const std::string key = "user-" + std::to_string(i);
    const std::uint32_t b = split_bucket("colors", key);
    const char* expected = b < 1000 ? "red" : b < 3500 ? "blue" : "grey";
    const Resolution r = resolve(flag, &t, {}, keyed(key));
    ASSERT_EQ(r.reason, Reason::split) << key;
    ASSERT_EQ(r.variant->name, expected) << key << " bucket " << b;
    EXPECT_EQ(r.rule, 0);
  }
}

TEST(Split, RaisingAPercentageOnlyAddsUsers) {
  const Flag flag = off_by_default_flag("checkout-v2");
  std::vector<Targeting> steps;
  for (int weight : {0, 1, 500, 1000, 2500, 5000, 9999, 10'000}) steps.push_back(targeting(split_rule(weight)));
  std::vector<int> on_counts(steps.size(), 0);
  for (int i = 0; i < 100'000; ++i) {
    const Context c = keyed("user-" + std::to_string(i));
    bool was_on = false;
    for (std::size_t s = 0; s < steps.size(); ++s) {
      const bool on = resolve(flag, &steps[s], {}, c).result;
      ASSERT_FALSE(was_on && !on) << "user-" << i << " left the rollout at step " << s;
      was_on = on;
      on_counts[s] += on;
    }
  }
  EXPECT_EQ(on_counts.front(), 0);
  EXPECT_EQ(on_counts.back(), 100'000);
  for (std::size_t s = 1; s < steps.size(); ++s) EXPECT_GE(on_counts[s], on_counts[s - 1]);
}

TEST(Split, DistributionWithinTolerance) {
  const Targeting t = targeting(json::parse(R"([{"serve":{"split":[
      {"variant":"red","weight":1000},{"variant":"green","weight":2000},{"variant":"blue","weight":6999},{"variant":"grey","weight":1}]}}])"));
  const Flag flag{"colors", true, variants(kColors)};
  std::map<std::string, int> counts;
  constexpr int kKeys = 100'000;
  for (int i = 0; i < kKeys; ++i) ++counts[resolve(flag, &t, {}, keyed("user-" + std::to_string(i))).variant->name];
  // Each share within 1 percentage point (the standard deviation at n = 100,000 is <= 0.16 points).
  EXPECT_NEAR(counts["red"], 10'000, 1'000);
  EXPECT_NEAR(counts["green"], 20'000, 1'000);
  EXPECT_NEAR(counts["blue"], 69'990, 1'000);
  EXPECT_NEAR(counts["grey"], 10, 40);  // 0.01 %: about 10 of 100,000
  EXPECT_GT(counts["grey"], 0);
}

// Chi-square statistic of a 2x2 contingency table (1 degree of freedom).
double chi_square(const double table[2][2]) {
  const double n = table[0][0] + table[0][1] + table[1][0] + table[1][1];
  double chi = 0;
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 2; ++j) {
      const double expected = (table[i][0] + table[i][1]) * (table[0][j] + table[1][j]) / n;
      chi += (table[i][j] - expected) * (table[i][j] - expected) / expected;
    }
  }
  return chi;
}

TEST(Split, TwoFlagsBucketIndependently) {
  // Both flags at 50 %: being in one must tell nothing about being in the other. At 1 degree of
  // freedom, chi-square above 10.83 would reject independence at p = 0.001. The keys are fixed,
  // so the statistic is the same on every run.
  const Targeting half = targeting(split_rule(5'000));
  const Flag a = off_by_default_flag("new-checkout"), b = off_by_default_flag("new-search");
  double table[2][2] = {};
  double same_flag[2][2] = {};
  for (int i = 0; i < 100'000; ++i) {
    const Context c = keyed("user-" + std::to_string(i));
    const bool in_a = resolve(a, &half, {}, c).result, in_b = resolve(b, &half, {}, c).result;
    table[in_a][in_b] += 1;
    same_flag[in_a][in_a] += 1;
  }
  EXPECT_LT(chi_square(table), 10.83);
  EXPECT_NEAR(table[1][1], 25'000, 1'000);
  // The statistic does detect dependence: one flag against itself.
  same_flag[0][1] = same_flag[1][0] = 0.5;  // keep expected counts non-zero
  EXPECT_GT(chi_square(same_flag), 10'000);
}

TEST(Split, ATargetingKeyIsNeeded) {
  const Targeting t = targeting(split_rule(5'000));
  for (const char* text : {R"({})", R"({"targetingKey":""})", R"({"targetingKey":null})"}) {
    const Resolution r = resolve(off_by_default(), &t, {}, context(text));
    EXPECT_EQ(r.reason, Reason::error) << text;
    EXPECT_EQ(r.error, ErrorCode::targeting_key_missing) << text;
    EXPECT_EQ(r.rule, 0);
    EXPECT_EQ(error_details(r),
              "rules[0] needs a targetingKey (a non-empty string) to bucket the caller, and the context has none");
  }
}

TEST(Split, ByAnotherAttribute) {
  const Targeting t = targeting(split_rule(5'000, "companyId"));
  const Flag flag = off_by_default_flag("team-feature");
  // Everyone in a company gets the same answer, whatever their own key.
  const bool first = resolve(flag, &t, {}, context(R"({"targetingKey":"u1","companyId":"acme"})")).result;
  for (int i = 0; i < 100; ++i) {
    const std::string text = R"({"targetingKey":"u)" + std::to_string(i) + R"(","companyId":"acme"})";
    EXPECT_EQ(resolve(flag, &t, {}, context(text.c_str())).result, first);
  }
  // Integers bucket as their decimal text.
  const Resolution n = resolve(flag, &t, {}, context(R"({"companyId":42})"));
  EXPECT_EQ(n.reason, Reason::split);
  EXPECT_EQ(n.variant, resolve(flag, &t, {}, context(R"({"companyId":"42"})")).variant);
  EXPECT_EQ(n.result, split_bucket("team-feature", "42") < 5'000);
  // Missing, or neither a string nor an integer: INVALID_CONTEXT naming the attribute.
  for (const char* text : {R"({"targetingKey":"u1"})", R"({"companyId":1.5})", R"({"companyId":true})", R"({"companyId":["a"]})",
                           R"({"companyId":""})"}) {
    const Resolution r = resolve(flag, &t, {}, context(text));
    EXPECT_EQ(r.error, ErrorCode::invalid_context) << text;
    EXPECT_EQ(r.detail, "companyId") << text;
    EXPECT_EQ(error_details(r), "rules[0] splits by 'companyId', which the context lacks or holds as neither a string nor an integer");
  }
}

TEST(Split, OnlyWhenTheRuleMatches) {
  const json rules = json::parse(R"([
      {"conditions":[{"attribute":"country","operator":"eq","value":"BR"}],
       "serve":{"split":[{"variant":"on","weight":5000},{"variant":"off","weight":5000}]}}])");
  const Targeting t = targeting(rules);
  // No match: the split's key is not needed.
  EXPECT_EQ(resolve(off_by_default(), &t, {}, context(R"({"country":"PT"})")).reason, Reason::no_rule_matched);
  EXPECT_EQ(resolve(off_by_default(), &t, {}, context(R"({"country":"BR"})")).error, ErrorCode::targeting_key_missing);
}

// ---------------------------------------------------------------------------------------------
// Legacy rules in the new model

TEST(Legacy, PercentageIsASplitOnTheOriginalBuckets) {
  const Targeting half(percentage_rule(50));
  const Flag flag{"enable-new-dashboard", true, {}};
  const Resolution in = resolve(flag, &half, {}, keyed("user-123"));  // bucket 25
  EXPECT_EQ(in.reason, Reason::split);
  EXPECT_EQ(in.variant->name, "on");
  EXPECT_TRUE(in.result);
  EXPECT_EQ(in.rule, 0);
  const Resolution out = resolve(flag, &half, {}, keyed("user-abc"));  // bucket 71
  EXPECT_EQ(out.reason, Reason::split);
  EXPECT_EQ(out.variant->name, "off");
  EXPECT_FALSE(out.result);
  const Resolution none = resolve(flag, &half, {}, Context{});
  EXPECT_EQ(none.error, ErrorCode::targeting_key_missing);
  EXPECT_EQ(error_details(none), "rules[0] needs a targetingKey (a non-empty string) to bucket the caller, and the context has none");
}

TEST(Legacy, UserListIsAMatchOrTheDefaultFalse) {
  const Targeting list(user_list_rule({"user-123", "ana"}));
  const Flag flag{"beta", true, {}};
  const Resolution hit = resolve(flag, &list, {}, keyed("ana"));
  EXPECT_EQ(hit.reason, Reason::targeting_match);
  EXPECT_EQ(hit.variant->name, "on");
  EXPECT_TRUE(hit.result);
  const Resolution miss = resolve(flag, &list, {}, keyed("bob"));
  EXPECT_EQ(miss.reason, Reason::no_rule_matched);
  EXPECT_EQ(miss.variant->name, "off");
  EXPECT_FALSE(miss.result);
  EXPECT_EQ(resolve(flag, &list, {}, Context{}).reason, Reason::no_rule_matched);
}

TEST(Legacy, SameAnswersAsEvaluate) {
  std::vector<std::optional<Rule>> rules = {std::nullopt};
  for (double p : {0.0, 0.5, 1.0, 25.0, 33.3, 50.0, 71.5, 99.0, 99.5, 100.0}) rules.push_back(percentage_rule(p));
  rules.push_back(user_list_rule({"user-1", "user-22", "user-333"}));
  rules.push_back(user_list_rule({}));
  for (const auto& rule : rules) {
    for (bool enabled : {true, false}) {
      const FlagDefinition legacy{"enable-new-dashboard", enabled, rule};
      const Flag flag{"enable-new-dashboard", enabled, {}};
      const std::optional<Targeting> t = rule ? std::optional<Targeting>(Targeting(*rule)) : std::nullopt;
      for (int i = 0; i < 2'000; ++i) {
        const std::string user = "user-" + std::to_string(i);
        ASSERT_EQ(resolve(flag, t ? &*t : nullptr, {}, keyed(user)).result, evaluate(legacy, user))
            << user << " enabled=" << enabled << " rule=" << (rule ? to_json(*rule).dump() : "none");
      }
    }
  }
}

TEST(Legacy, OnCustomBooleanVariantsAndOnOtherTypes) {
  const Targeting all(percentage_rule(100));
  const Flag custom{"f", true, variants(R"({"variants":{"yes":true,"no":false},"default_variant":"no","off_variant":"no"})")};
  EXPECT_EQ(resolve(custom, &all, {}, keyed("u")).variant->name, "yes");
  const Flag colors{"colors", true, variants(kColors)};
  const Resolution r = resolve(colors, &all, {}, keyed("u"));
  EXPECT_EQ(r.error, ErrorCode::general);
  EXPECT_EQ(error_details(r), "the legacy rule serves true, and none of the flag's variants holds it");
}

// ---------------------------------------------------------------------------------------------
// No allocation on the evaluation path

TEST(Resolve, DoesNotAllocate) {
  const Targeting t = targeting(json::parse(R"([
      {"conditions":[{"attribute":"email","operator":"matches","value":"^[a-z]+@acme\\.com$"}],"serve":{"variant":"red"}},
      {"conditions":[{"attribute":"app.version","operator":"semver_gte","value":"9.0.0"}],"serve":{"variant":"red"}},
      {"conditions":[{"attribute":"signup","operator":"before","value":"2000-01-01T00:00:00Z"}],"serve":{"variant":"red"}},
      {"conditions":[{"attribute":"plan","operator":"in","values":["gold","platinum"]}],"serve":{"variant":"red"}},
      {"conditions":[{"operator":"in_segment","values":["staff"]}],"serve":{"variant":"red"}},
      {"conditions":[{"attribute":"plan","operator":"neq","value":"free"},{"attribute":"age","operator":"gte","value":18}],
       "serve":{"split":[{"variant":"green","weight":5000},{"variant":"blue","weight":5000}],"by":"companyId"}}])"));
  const Flag flag{"colors", true, variants(kColors)};
  const Context c = context(
      R"({"targetingKey":"u1","email":"ana@example.com","app":{"version":"1.2.3"},"signup":"2024-05-01T10:00:00Z",
          "plan":"pro","age":30,"companyId":1234})");
  resolve(flag, &t, test_segments(), c);  // warm-up: RE2 builds its DFA states lazily
  counting = true;
  allocations = 0;
  Resolution r;
  for (int i = 0; i < 100; ++i) r = resolve(flag, &t, test_segments(), c);
  counting = false;
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(r.reason, Reason::split);

  // The counter does see allocations.
  counting = true;
  const std::string heap(100, 'x');
  counting = false;
  EXPECT_GT(allocations, 0) << heap;
}

}  // namespace
