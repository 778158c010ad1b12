// evaluation-service: the Catalog fed with change-feed replies, and GET /evaluate wired as main()
// wires it, against real flag-, targeting-, analytics- and auth-services in-process.
#include <new>
#include <set>

#include "harness.hpp"

namespace itest {
namespace {

using toggle::evaluation::Catalog;
using toggle::evaluation::Snapshot;

// ---------------------------------------------------------------------------------------------
// Catalog

json flag_reply(bool full, std::vector<std::pair<std::string, bool>> flags, std::vector<std::string> deleted = {}) {
  json list = json::array();
  for (auto& [name, enabled] : flags) list.push_back({{"name", name}, {"is_enabled", enabled}, {"description", ""}});
  return {{"epoch", "e"}, {"version", 1}, {"full", full}, {"flags", list}, {"deleted", deleted}};
}

struct RuleEntry {
  std::string flag;
  json rules;
  bool enabled = true;
};
json rule_reply(bool full, std::vector<RuleEntry> rules, std::vector<std::string> deleted = {}) {
  json list = json::array();
  for (auto& r : rules) list.push_back({{"flag_name", r.flag}, {"is_enabled", r.enabled}, {"rules", r.rules}});
  return {{"epoch", "e"}, {"version", 1}, {"full", full}, {"rules", list}, {"deleted", deleted}};
}

// A copy of the catalog's snapshot, read on a fresh thread (snapshot() caches per thread).
Snapshot snapshot_of(const Catalog& catalog) {
  Snapshot copy;
  std::thread([&] { copy = *catalog.snapshot(); }).join();
  return copy;
}

// What the hot path would answer from this snapshot; nullopt when the flag is not in it.
std::optional<bool> decide(const Snapshot& s, const std::string& flag, const std::string& user) {
  auto it = s.find(flag);
  if (it == s.end()) return std::nullopt;
  return toggle::rules::evaluate(it->second, user);
}

const json kPercent0 = {{"type", "PERCENTAGE"}, {"value", 0}};
const json kPercent100 = {{"type", "PERCENTAGE"}, {"value", 100}};

TEST(CatalogTest, IsCompleteOnlyAfterBothFullReplies) {
  Catalog catalog;
  EXPECT_FALSE(catalog.complete());
  catalog.apply_flag_changes(flag_reply(true, {{"a", true}}));
  EXPECT_FALSE(catalog.complete()) << "rules not synced yet";
  EXPECT_EQ(catalog.size(), 1u);
  catalog.apply_rule_changes(rule_reply(false, {}));
  EXPECT_FALSE(catalog.complete()) << "a delta is not a sync";
  catalog.apply_rule_changes(rule_reply(true, {}));
  EXPECT_TRUE(catalog.complete());
}

TEST(CatalogTest, FullRepliesReplaceAndDeltasMerge) {
  Catalog catalog;
  catalog.apply_flag_changes(flag_reply(true, {{"a", true}, {"b", false}, {"c", true}}));
  catalog.apply_rule_changes(
      rule_reply(true, {{"a", kPercent0}, {"c", json{{"type", "USER_LIST"}, {"values", json::array({"u1"})}}}}));
  auto s = snapshot_of(catalog);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(decide(s, "a", "u1"), false) << "0 %";
  EXPECT_EQ(decide(s, "b", "u1"), false) << "disabled";
  EXPECT_EQ(decide(s, "c", "u1"), true);
  EXPECT_EQ(decide(s, "c", "u2"), false);

  // Delta: b switched on, a deleted; the others untouched.
  catalog.apply_flag_changes(flag_reply(false, {{"b", true}}, {"a"}));
  s = snapshot_of(catalog);
  EXPECT_EQ(decide(s, "a", "u1"), std::nullopt);
  EXPECT_EQ(decide(s, "b", "u1"), true) << "enabled, no rule";
  EXPECT_EQ(decide(s, "c", "u2"), false);

  // A disabled rule counts as no rule.
  catalog.apply_rule_changes(
      rule_reply(false, {{"c", json{{"type", "USER_LIST"}, {"values", json::array({"u1"})}}, false}}));
  s = snapshot_of(catalog);
  EXPECT_EQ(decide(s, "c", "u2"), true);
  catalog.apply_rule_changes(
      rule_reply(false, {{"c", json{{"type", "USER_LIST"}, {"values", json::array({"u1"})}}, true}}));
  EXPECT_EQ(decide(snapshot_of(catalog), "c", "u2"), false) << "enabled again";

  // A deleted rule: no rule.
  catalog.apply_rule_changes(rule_reply(false, {}, {"c"}));
  EXPECT_EQ(decide(snapshot_of(catalog), "c", "u2"), true);

  // A full reply replaces everything.
  catalog.apply_flag_changes(flag_reply(true, {{"d", true}}));
  s = snapshot_of(catalog);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(decide(s, "b", "u1"), std::nullopt);
  EXPECT_EQ(decide(s, "d", "u1"), true);
  catalog.apply_rule_changes(rule_reply(true, {{"d", kPercent0}}));
  EXPECT_EQ(decide(snapshot_of(catalog), "d", "u1"), false);
}

TEST(CatalogTest, AnInvalidRuleFailsClosed) {
  Catalog catalog;
  catalog.apply_flag_changes(flag_reply(true, {{"bad-type", true}, {"bad-value", true}, {"not-object", true}}));
  catalog.apply_rule_changes(rule_reply(true, {{"bad-type", json{{"type", "GEO"}, {"value", 50}}},
                                               {"bad-value", json{{"type", "PERCENTAGE"}, {"value", "50"}}},
                                               {"not-object", json::array({1, 2})}}));
  auto s = snapshot_of(catalog);
  for (int i = 0; i < 50; ++i) {
    std::string user = "user-" + std::to_string(i);
    EXPECT_EQ(decide(s, "bad-type", user), false) << user;
    EXPECT_EQ(decide(s, "bad-value", user), false) << user;
    EXPECT_EQ(decide(s, "not-object", user), false) << user;
  }
}

TEST(CatalogTest, AMalformedReplyChangesNothing) {
  Catalog catalog;
  catalog.apply_flag_changes(flag_reply(true, {{"a", true}}));
  catalog.apply_rule_changes(rule_reply(true, {}));
  EXPECT_ANY_THROW(catalog.apply_flag_changes(json{{"full", true}}));
  EXPECT_ANY_THROW(catalog.apply_flag_changes(
      json{{"full", true}, {"flags", json::array({{{"name", "x"}}})}, {"deleted", json::array()}}));
  EXPECT_ANY_THROW(catalog.apply_rule_changes(json{{"full", false}, {"rules", 5}, {"deleted", json::array()}}));
  auto s = snapshot_of(catalog);
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(decide(s, "a", "u"), true);
}

TEST(CatalogTest, AppliesTheRealFeedsReplies) {
  TempDir dir;
  AuthService auth(dir);
  FlagService flags(dir, auth.url());
  TargetingService targeting(dir, auth.url());
  auto post = [&](const std::string& url, const json& body) {
    auto res = call("POST", url, kServiceKey, body.dump());
    ASSERT_EQ(res.status, 201) << describe(res);
  };
  post(flags.url() + "/flags", {{"name", "enable-new-dashboard"}, {"is_enabled", true}});
  post(flags.url() + "/flags", {{"name", "off"}, {"is_enabled", false}});
  post(targeting.url() + "/rules",
       {{"flag_name", "enable-new-dashboard"}, {"rules", {{"type", "PERCENTAGE"}, {"value", 50}}}});

  Catalog catalog;
  catalog.apply_flag_changes(body_of(call("GET", flags.url() + "/changes?since=0", kServiceKey)));
  catalog.apply_rule_changes(body_of(call("GET", targeting.url() + "/changes?since=0", kServiceKey)));
  ASSERT_TRUE(catalog.complete());
  auto s = snapshot_of(catalog);
  EXPECT_EQ(decide(s, "enable-new-dashboard", "user-123"), true) << "bucket 25 < 50";
  EXPECT_EQ(decide(s, "enable-new-dashboard", "user-abc"), false) << "bucket 71 >= 50";
  EXPECT_EQ(decide(s, "off", "user-123"), false);
}

// Regression (fixed; services/evaluation-service/catalog.cpp, Catalog::snapshot): the per-thread cache is keyed
// by the Catalog's address and generation. A Catalog created where a destroyed one lived, after the
// same number of changes, is served the old Catalog's snapshot on any thread that read the old one.
TEST(CatalogTest, ANewCatalogAtAReusedAddressServesItsOwnSnapshot) {
  alignas(Catalog) unsigned char storage[sizeof(Catalog)];
  auto* first = new (storage) Catalog();
  first->apply_flag_changes(flag_reply(true, {{"old-flag", true}}));
  first->apply_rule_changes(rule_reply(true, {}));
  ASSERT_EQ(first->snapshot()->count("old-flag"), 1u);
  first->~Catalog();

  auto* second = new (storage) Catalog();
  second->apply_flag_changes(flag_reply(true, {{"new-flag", true}}));
  second->apply_rule_changes(rule_reply(true, {}));
  const Snapshot* s = second->snapshot();  // same thread as above
  EXPECT_EQ(s->count("new-flag"), 1u);
  EXPECT_EQ(s->count("old-flag"), 0u);
  second->~Catalog();
}

// ---------------------------------------------------------------------------------------------
// GET /evaluate with every flag fetched on demand (no feed followers: the catalog never completes,
// so each evaluation asks flag-service and targeting-service, through the MissFetcher).

class EvaluateTest : public ::testing::Test {
 protected:
  explicit EvaluateTest(EvaluationOptions options = {}) : p(options) {}

  Platform p;
  std::string admin = p.auth.create_key("admin");

  void create_flag(const std::string& name, bool enabled) {
    auto res = call("POST", p.flags.url() + "/flags", admin, json{{"name", name}, {"is_enabled", enabled}}.dump());
    ASSERT_EQ(res.status, 201) << describe(res);
  }
  void set_flag(const std::string& name, bool enabled) {
    auto res = call("PUT", p.flags.url() + "/flags/" + name, admin, json{{"is_enabled", enabled}}.dump());
    ASSERT_EQ(res.status, 200) << describe(res);
  }
  void create_rule(const std::string& flag, const json& rules, bool enabled = true) {
    auto res = call("POST", p.targeting.url() + "/rules", admin,
                    json{{"flag_name", flag}, {"rules", rules}, {"is_enabled", enabled}}.dump());
    ASSERT_EQ(res.status, 201) << describe(res);
  }
  // The result of a 200 evaluation; fails the test on any other reply.
  std::optional<bool> result(const std::string& user, const std::string& flag, const std::string& key = "") {
    auto res = p.evaluation.evaluate(user, flag, key);
    EXPECT_EQ(res.status, 200) << describe(res);
    json j = body_of(res);
    if (res.status != 200 || !j.is_object() || !j["result"].is_boolean()) return std::nullopt;
    EXPECT_EQ(j["flag_name"], flag);
    return j["result"].get<bool>();
  }
};

TEST_F(EvaluateTest, SeedFlow) {
  create_flag("test-checkout", true);
  create_rule("test-checkout", kPercent100);
  auto res = p.evaluation.evaluate("user-123", "test-checkout");
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_EQ(res.body, R"({"flag_name":"test-checkout","user_id":"user-123","result":true})");

  // The evaluation reaches analytics as one event.
  ASSERT_TRUE(eventually([&] { return !p.analytics.store().recent(std::string("test-checkout"), 10).empty(); }));
  auto events = p.analytics.store().recent(std::string("test-checkout"), 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].user_id, "user-123");
  EXPECT_TRUE(events[0].result);
  EXPECT_TRUE(is_iso8601_utc(events[0].timestamp)) << events[0].timestamp;
  auto summary = call("GET", p.analytics.url() + "/summary?flag_name=test-checkout", admin);
  EXPECT_EQ(body_of(summary), json({{"flag_name", "test-checkout"}, {"total", 1}, {"true", 1}, {"false", 0}}));
}

TEST_F(EvaluateTest, MissingFlagIsFalse) {
  auto res = p.evaluation.evaluate("user-123", "no-such-flag");
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_EQ(res.body, R"({"flag_name":"no-such-flag","user_id":"user-123","result":false})");
}

TEST_F(EvaluateTest, DisabledFlagIsFalseWhateverTheRule) {
  create_flag("off", false);
  EXPECT_EQ(result("user-123", "off"), false);
  create_rule("off", kPercent100);
  EXPECT_EQ(result("user-123", "off"), false);
  create_flag("on", true);
  EXPECT_EQ(result("user-123", "on"), true) << "enabled without a rule: everyone";
}

TEST_F(EvaluateTest, ChangesAreSeenOnTheNextEvaluation) {
  create_flag("switch", true);
  EXPECT_EQ(result("u", "switch"), true);
  set_flag("switch", false);
  EXPECT_EQ(result("u", "switch"), false) << "kill switch";
  set_flag("switch", true);
  create_rule("switch", kPercent0);
  EXPECT_EQ(result("u", "switch"), false);
  auto res = call("DELETE", p.flags.url() + "/flags/switch", admin);
  ASSERT_EQ(res.status, 204);
  EXPECT_EQ(result("u", "switch"), false);
}

TEST_F(EvaluateTest, PercentageUsesTheOriginalsBuckets) {
  create_flag("enable-new-dashboard", true);
  create_rule("enable-new-dashboard", {{"type", "PERCENTAGE"}, {"value", 50}});
  EXPECT_EQ(result("user-123", "enable-new-dashboard"), true) << "bucket 25";
  EXPECT_EQ(result("user-abc", "enable-new-dashboard"), false) << "bucket 71";
  // Fractional percentages: bucket 25 is in at 25.5 and out at 25.
  ASSERT_EQ(call("PUT", p.targeting.url() + "/rules/enable-new-dashboard", admin,
                 R"({"rules":{"type":"PERCENTAGE","value":25.5}})")
                .status,
            200);
  EXPECT_EQ(result("user-123", "enable-new-dashboard"), true);
  ASSERT_EQ(call("PUT", p.targeting.url() + "/rules/enable-new-dashboard", admin,
                 R"({"rules":{"type":"PERCENTAGE","value":25}})")
                .status,
            200);
  EXPECT_EQ(result("user-123", "enable-new-dashboard"), false);
}

TEST_F(EvaluateTest, UserList) {
  create_flag("beta", true);
  create_rule("beta", {{"type", "USER_LIST"}, {"values", json::array({"alice", "bob@example.com"})}});
  EXPECT_EQ(result("alice", "beta"), true);
  EXPECT_EQ(result("bob%40example.com", "beta"), true);
  EXPECT_EQ(result("carol", "beta"), false);
  EXPECT_EQ(result("Alice", "beta"), false) << "exact match";
  set_flag("beta", false);
  EXPECT_EQ(result("alice", "beta"), false);
}

TEST_F(EvaluateTest, DisabledRuleMeansNoRule) {
  create_flag("f", true);
  create_rule("f", kPercent0, false);
  EXPECT_EQ(result("u", "f"), true);
  ASSERT_EQ(call("PATCH", p.targeting.url() + "/rules/f", admin, R"({"is_enabled":true})").status, 200);
  EXPECT_EQ(result("u", "f"), false);
}

TEST_F(EvaluateTest, InvalidQueriesAre400) {
  create_flag("f", true);
  const std::string base = p.evaluation.url() + "/evaluate";
  for (const std::string& query : std::vector<std::string>{
           "", "?user_id=u", "?flag_name=f", "?user_id=&flag_name=f",
           "?user_id=u&flag_name=", "?user_id=u&flag_name=a%2Fb", "?user_id=u&flag_name=a/b",
           "?user_id=u&flag_name=a+b", "?user_id=u&flag_name=" + std::string(101, 'f'), "?user_id=u&flag_name=%0A",
           "?user_id=u&flag_name=%25zz", "?user_id=u&flag_name=%zz",
           "?user_id=" + std::string(257, 'u') + "&flag_name=f", "?user_id=a%0Ab&flag_name=f",
           "?user_id=%7F&flag_name=f", "?user_id=%FF%FE&flag_name=f", "?user_id=%C0%AF&flag_name=f"}) {
    SCOPED_TRACE(query);
    auto res = call("GET", base + query);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_FALSE(error_of(res).empty()) << res.body;
  }
  EXPECT_EQ(result(std::string(256, 'u'), "f"), true) << "256 characters is the limit";
  EXPECT_EQ(result("u", std::string(100, 'f')), false) << "a 100-character name is valid (and unknown)";
}

TEST_F(EvaluateTest, UserIdIsEchoedAsValidJson) {
  create_flag("f", true);
  auto res = p.evaluation.evaluate("a%22b%5C%3Cc%3E%20jos%C3%A9", "f");
  ASSERT_EQ(res.status, 200) << describe(res);
  json j = body_of(res);
  ASSERT_TRUE(j.is_object()) << res.body;
  EXPECT_EQ(j["user_id"], "a\"b\\<c> jos\xc3\xa9");
  EXPECT_EQ(j["result"], true);
}

TEST_F(EvaluateTest, TargetingDownFailsClosedForAFlagNotYetKnown) {
  create_flag("guarded", true);
  create_rule("guarded", kPercent0);  // nobody: fail-open would say true
  create_flag("open", true);          // no rule: everybody, once targeting answers
  p.targeting.stop();
  for (int i = 0; i < 20; ++i) {
    std::string user = "user-" + std::to_string(i);
    EXPECT_EQ(result(user, "guarded"), false) << user;
    EXPECT_EQ(result(user, "open"), false) << user << ": the rule cannot be known, so not true";
  }
  p.targeting.start();
  EXPECT_EQ(result("user-1", "guarded"), false);
  EXPECT_EQ(result("user-1", "open"), true) << "a degraded answer is not remembered";
}

TEST_F(EvaluateTest, FlagServiceDownAndFlagUnknownIs503) {
  create_flag("f", true);
  p.flags.stop();
  auto res = p.evaluation.evaluate("u", "f");
  EXPECT_EQ(res.status, 503) << describe(res);
  EXPECT_NE(error_of(res).find("f"), std::string::npos);
  p.flags.start();
  EXPECT_EQ(result("u", "f"), true);
}

TEST_F(EvaluateTest, EveryAnswerIsOneEvent) {
  create_flag("counted", true);
  create_rule("counted", {{"type", "USER_LIST"}, {"values", json::array({"user-0", "user-1", "user-2"})}});
  for (int i = 0; i < 10; ++i) result("user-" + std::to_string(i), "counted");
  ASSERT_TRUE(eventually([&] { return p.analytics.store().recent(std::string("counted"), 100).size() == 10; }));
  auto s = p.analytics.store().summary("counted");
  EXPECT_EQ(s.true_count, 3);
  EXPECT_EQ(s.false_count, 7);
  std::set<std::string> ids;
  for (const auto& e : p.analytics.store().recent(std::string("counted"), 100)) ids.insert(e.event_id);
  EXPECT_EQ(ids.size(), 10u) << "distinct event ids";
}

TEST_F(EvaluateTest, NoKeyNeededByDefault) {
  create_flag("f", true);
  EXPECT_EQ(result("u", "f"), true);
  EXPECT_EQ(result("u", "f", "tm_key_garbage"), true) << "a key is not checked unless required";
}

// EVALUATE_REQUIRE_KEY=true
class EvaluateRequireKeyTest : public EvaluateTest {
 protected:
  EvaluateRequireKeyTest() : EvaluateTest(EvaluationOptions{.require_key = true}) {}
};

TEST_F(EvaluateRequireKeyTest, AValidKeyIsRequired) {
  create_flag("f", true);
  auto none = p.evaluation.evaluate("u", "f");
  EXPECT_EQ(none.status, 401) << describe(none);
  auto bad = p.evaluation.evaluate("u", "f", "tm_key_" + std::string(64, 'a'));
  EXPECT_EQ(bad.status, 401) << describe(bad);
  EXPECT_EQ(p.evaluation.evaluate("u", "f", kMasterKey).status, 401);

  auto ok = p.evaluation.evaluate("u", "f", kServiceKey);
  ASSERT_EQ(ok.status, 200) << describe(ok);
  EXPECT_EQ(ok.body, R"({"flag_name":"f","user_id":"u","result":true})");
  EXPECT_EQ(p.evaluation.evaluate("u", "f", kServiceKey).status, 200) << "cached verdict";
  EXPECT_EQ(p.evaluation.evaluate("u", "f", admin).status, 200);
  EXPECT_EQ(p.evaluation.evaluate("", "f", kServiceKey).status, 400) << "input is checked before the key";
}

TEST_F(EvaluateRequireKeyTest, AuthDownIs503ForAKeyNotYetChecked) {
  create_flag("f", true);
  std::string fresh = p.auth.create_key("fresh");
  p.auth.stop();
  auto res = p.evaluation.evaluate("u", "f", fresh);
  EXPECT_EQ(res.status, 503) << describe(res);
  EXPECT_EQ(p.evaluation.evaluate("u", "f").status, 401);
}

// ---------------------------------------------------------------------------------------------
// GET /evaluate answered from the catalog kept by the feed followers, as in production.

class EvaluateFollowingFeedsTest : public EvaluateTest {
 protected:
  EvaluateFollowingFeedsTest() : EvaluateTest(EvaluationOptions{.follow_feeds = true}) {}

  // Waits until evaluation answers `expected` (the feeds are asynchronous).
  bool becomes(const std::string& user, const std::string& flag, bool expected) {
    return eventually([&] {
      auto res = p.evaluation.evaluate(user, flag);
      return res.status == 200 && body_of(res)["result"] == expected;
    });
  }
};

TEST_F(EvaluateFollowingFeedsTest, SeedFlowThroughTheFeeds) {
  ASSERT_TRUE(eventually([&] { return p.evaluation.catalog().complete(); })) << "both feeds synced";
  create_rule("test-checkout", kPercent100);
  create_flag("test-checkout", true);
  ASSERT_TRUE(eventually([&] { return p.evaluation.catalog().size() == 1; }));
  auto res = p.evaluation.evaluate("user-123", "test-checkout");
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_EQ(res.body, R"({"flag_name":"test-checkout","user_id":"user-123","result":true})");
}

TEST_F(EvaluateFollowingFeedsTest, KillSwitchAndRuleChangesPropagate) {
  create_rule("enable-new-dashboard", {{"type", "PERCENTAGE"}, {"value", 50}});
  create_flag("enable-new-dashboard", true);
  ASSERT_TRUE(eventually([&] { return p.evaluation.catalog().complete() && p.evaluation.catalog().size() == 1; }));
  // The two feeds are independent: wait for the rule too.
  EXPECT_TRUE(becomes("user-abc", "enable-new-dashboard", false)) << "bucket 71 >= 50";
  EXPECT_EQ(result("user-123", "enable-new-dashboard"), true) << "bucket 25 < 50";

  set_flag("enable-new-dashboard", false);
  EXPECT_TRUE(becomes("user-123", "enable-new-dashboard", false)) << "kill switch";
  set_flag("enable-new-dashboard", true);
  EXPECT_TRUE(becomes("user-123", "enable-new-dashboard", true));
  ASSERT_EQ(call("PUT", p.targeting.url() + "/rules/enable-new-dashboard", admin, R"({"is_enabled":false})").status,
            200);
  EXPECT_TRUE(becomes("user-abc", "enable-new-dashboard", true)) << "rule disabled: everyone";
  ASSERT_EQ(call("DELETE", p.flags.url() + "/flags/enable-new-dashboard", admin).status, 204);
  EXPECT_TRUE(eventually([&] { return p.evaluation.catalog().size() == 0; }));
  EXPECT_EQ(result("user-abc", "enable-new-dashboard"), false) << "deleted";
}

TEST_F(EvaluateFollowingFeedsTest, KnownFlagsAreServedWhileFlagServiceIsDown) {
  create_flag("known", true);
  ASSERT_TRUE(eventually([&] { return p.evaluation.catalog().complete() && p.evaluation.catalog().size() == 1; }));
  p.flags.stop();
  EXPECT_EQ(result("u", "known"), true) << "from memory";
  auto unknown = p.evaluation.evaluate("u", "unknown");
  EXPECT_EQ(unknown.status, 503) << describe(unknown);
}

// The catalog is not complete while targeting-service is down from the start: flags known from
// the flag feed must not be answered "no rule, everyone".
TEST(EvaluateTargetingDownAtStartTest, FailsClosedUntilTheRulesAreKnown) {
  TempDir dir;
  AuthService auth(dir);
  FlagService flags(dir, auth.url());
  TargetingService targeting(dir, auth.url());
  AnalyticsService analytics(dir, auth.url());
  auto post = [&](const std::string& url, const json& body) {
    auto res = call("POST", url, kServiceKey, body.dump());
    ASSERT_EQ(res.status, 201) << describe(res);
  };
  post(targeting.url() + "/rules", {{"flag_name", "guarded"}, {"rules", kPercent0}});
  post(flags.url() + "/flags", {{"name", "guarded"}, {"is_enabled", true}});
  post(flags.url() + "/flags", {{"name", "open"}, {"is_enabled", true}});
  targeting.stop();

  EvaluationService evaluation(dir, auth.url(), flags.url(), targeting.url(), analytics.url(),
                               EvaluationOptions{.follow_feeds = true});
  ASSERT_TRUE(eventually([&] { return evaluation.catalog().size() == 2; })) << "the flag feed was applied";
  EXPECT_FALSE(evaluation.catalog().complete());
  for (int i = 0; i < 20; ++i) {
    std::string user = "user-" + std::to_string(i);
    for (std::string flag : {"guarded", "open"}) {
      auto res = evaluation.evaluate(user, flag);
      ASSERT_EQ(res.status, 200) << describe(res);
      EXPECT_EQ(body_of(res)["result"], false) << flag << " for " << user;
    }
  }

  targeting.start();
  ASSERT_TRUE(eventually([&] { return evaluation.catalog().complete(); }, 15000ms)) << "rules feed resumed";
  EXPECT_EQ(body_of(evaluation.evaluate("user-1", "guarded"))["result"], false);
  EXPECT_EQ(body_of(evaluation.evaluate("user-1", "open"))["result"], true);

  flags.close_feed();
  targeting.close_feed();
  evaluation.stop();
}

// "." and ".." cannot be addressed in a URL path (clients resolve /flags/.. to /): they are not
// valid flag names, so they can neither be created nor evaluated.
TEST_F(EvaluateTest, DotAndDotDotAreNotFlagNames) {
  EXPECT_EQ(p.evaluation.evaluate("u", ".").status, 400);
  EXPECT_EQ(p.evaluation.evaluate("u", "..").status, 400);
}

TEST_F(EvaluateTest, RepliesAreJson) {
  create_flag("f", true);
  auto ok = p.evaluation.evaluate("u", "f");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.content_type, "application/json");
  auto bad = p.evaluation.evaluate("", "f");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.content_type, "application/json");
  EXPECT_FALSE(error_of(bad).empty()) << bad.body;
}

}  // namespace
}  // namespace itest
