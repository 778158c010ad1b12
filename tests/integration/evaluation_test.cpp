// evaluation-service: the Catalog fed with change-feed replies, the MissFetcher, and the real App
// (GET /evaluate, following the change feeds), against real flag-, targeting-, analytics- and
// auth-services in-process.
#include <future>
#include <mutex>
#include <new>
#include <set>
#include <thread>

#include "harness.hpp"

namespace itest {
namespace {

using toggle::evaluation::Catalog;
using toggle::evaluation::Lookup;
using toggle::evaluation::MissFetcher;
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

// The catalog's current snapshot.
std::shared_ptr<const Snapshot> snapshot_of(const Catalog& catalog) { return catalog.current(); }

// What /evaluate would answer from this snapshot; nullopt when the flag is not in it.
std::optional<bool> decide(const std::shared_ptr<const Snapshot>& s, const std::string& flag, const std::string& user) {
  const auto* entry = s->find(flag);
  if (!entry) return std::nullopt;
  return toggle::evaluation::answer_for_user(*entry, s->segments, user).result;
}
// /evaluate's answer for a looked-up flag.
bool decide(const Lookup& lookup, const std::string& user) {
  return toggle::evaluation::answer_for_user(lookup.flag, toggle::rules::SegmentSet(), user).result;
}

const json kPercent0 = {{"type", "PERCENTAGE"}, {"value", 0}};
const json kPercent100 = {{"type", "PERCENTAGE"}, {"value", 100}};

json segment_reply(bool full, std::vector<json> segments, std::vector<std::string> deleted = {}) {
  return {{"epoch", "e"}, {"version", 1}, {"full", full}, {"segments", segments}, {"deleted", deleted}};
}

// A service that never answers: a loopback port that accepts connections (in the kernel's
// backlog) and reads nothing. A lookup sent there waits for its whole timeout.
class SilentService {
 public:
  SilentService() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 128) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("SilentService: no listening socket");
    url_ = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  }
  ~SilentService() { ::close(fd_); }
  SilentService(const SilentService&) = delete;
  SilentService& operator=(const SilentService&) = delete;
  const std::string& url() const { return url_; }

 private:
  int fd_;
  std::string url_;
};

TEST(CatalogTest, IsCompleteOnlyAfterTheThreeFullReplies) {
  Catalog catalog;
  EXPECT_FALSE(catalog.complete());
  catalog.apply_flag_changes(flag_reply(true, {{"a", true}}));
  EXPECT_FALSE(catalog.complete()) << "rules not synced yet";
  EXPECT_EQ(catalog.size(), 1u);
  catalog.apply_rule_changes(rule_reply(false, {}));
  EXPECT_FALSE(catalog.complete()) << "a delta is not a sync";
  catalog.apply_rule_changes(rule_reply(true, {}));
  EXPECT_FALSE(catalog.complete()) << "segments not synced yet";
  catalog.apply_segment_changes(segment_reply(false, {}));
  EXPECT_FALSE(catalog.complete()) << "a delta is not a sync";
  catalog.apply_segment_changes(segment_reply(true, {}));
  EXPECT_TRUE(catalog.complete());
}

TEST(CatalogTest, FullRepliesReplaceAndDeltasMerge) {
  Catalog catalog;
  catalog.apply_flag_changes(flag_reply(true, {{"a", true}, {"b", false}, {"c", true}}));
  catalog.apply_rule_changes(
      rule_reply(true, {{"a", kPercent0}, {"c", json{{"type", "USER_LIST"}, {"values", json::array({"u1"})}}}}));
  auto s = snapshot_of(catalog);
  EXPECT_EQ(s->size(), 3u);
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
  EXPECT_EQ(s->size(), 1u);
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
  EXPECT_EQ(s->size(), 1u);
  EXPECT_EQ(decide(s, "a", "u"), true);
}

TEST(CatalogTest, AppliesTheRealFeedsReplies) {
  TempDir dir;
  AuthService auth(dir);
  FlagService flags(dir, auth.url());
  TargetingService targeting(dir, auth.url(), flags.url());
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
  catalog.apply_segment_changes(body_of(call("GET", targeting.url() + "/segments/changes?since=0", kServiceKey)));
  ASSERT_TRUE(catalog.complete());
  auto s = snapshot_of(catalog);
  EXPECT_EQ(decide(s, "enable-new-dashboard", "user-123"), true) << "bucket 25 < 50";
  EXPECT_EQ(decide(s, "enable-new-dashboard", "user-abc"), false) << "bucket 71 >= 50";
  EXPECT_EQ(decide(s, "off", "user-123"), false);
  flags.stop();  // answers targeting's parked poll: it stops at once
}

// Regression (fixed; services/evaluation-service/catalog.cpp, Catalog::snapshot): the per-thread cache is keyed
// by the Catalog's address and generation. A Catalog created where a destroyed one lived, after the
// same number of changes, is served the old Catalog's snapshot on any thread that read the old one.
TEST(CatalogTest, ANewCatalogAtAReusedAddressServesItsOwnSnapshot) {
  alignas(Catalog) unsigned char storage[sizeof(Catalog)];
  auto* first = new (storage) Catalog();
  first->apply_flag_changes(flag_reply(true, {{"old-flag", true}}));
  first->apply_rule_changes(rule_reply(true, {}));
  ASSERT_NE(first->snapshot()->find("old-flag"), nullptr);
  first->~Catalog();

  auto* second = new (storage) Catalog();
  second->apply_flag_changes(flag_reply(true, {{"new-flag", true}}));
  second->apply_rule_changes(rule_reply(true, {}));
  const Snapshot* s = second->snapshot();  // same thread as above
  EXPECT_NE(s->find("new-flag"), nullptr);
  EXPECT_EQ(s->find("old-flag"), nullptr);
  second->~Catalog();
}

// ---------------------------------------------------------------------------------------------
// MissFetcher: a flag the snapshot does not have, fetched from flag- and targeting-service.

// How each name's requests were answered, in order, as MissFetcher's callbacks report it.
class Answers {
 public:
  std::function<void(const Lookup&)> to(const std::string& name) {
    return [this, name](const Lookup& lookup) {
      std::lock_guard lock(mutex_);
      statuses_[name].push_back(lookup.status);
    };
  }
  std::vector<Lookup::Status> of(const std::string& name) {
    std::lock_guard lock(mutex_);
    return statuses_[name];
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<Lookup::Status>> statuses_;
};

class MissFetcherTest : public ::testing::Test {
 protected:
  ~MissFetcherTest() override { flags.stop(); }  // answers targeting's parked poll: it stops at once

  TempDir dir;
  AuthService auth{dir};
  FlagService flags{dir, auth.url()};
  TargetingService targeting{dir, auth.url(), flags.url()};

  toggle::evaluation::FetchOptions options(std::chrono::milliseconds remember = 60s) {
    toggle::evaluation::FetchOptions o{flags.url(), targeting.url(), kServiceKey};
    o.remember = remember;
    return o;
  }
  static Lookup fetch(MissFetcher& fetcher, const std::string& flag) {
    std::promise<Lookup> done;
    fetcher.fetch(flag, [&done](const Lookup& lookup) { done.set_value(lookup); });
    return done.get_future().get();
  }
  void create_rule(const std::string& flag, const json& rules) {
    auto res = call("POST", targeting.url() + "/rules", kServiceKey, json{{"flag_name", flag}, {"rules", rules}}.dump());
    ASSERT_EQ(res.status, 201) << describe(res);
  }
};

TEST_F(MissFetcherTest, FindsTheFlagAndItsRule) {
  flags.create("with-rule");
  flags.create("without-rule");
  flags.create("off", false);
  create_rule("with-rule", kPercent0);
  MissFetcher fetcher(options());

  Lookup with = fetch(fetcher, "with-rule");
  ASSERT_EQ(with.status, Lookup::Status::found);
  EXPECT_FALSE(with.degraded());
  EXPECT_TRUE(with.flag.flag.enabled);
  ASSERT_TRUE(with.flag.targeting);
  EXPECT_EQ(decide(with, "anyone"), false) << "0 %";

  Lookup without = fetch(fetcher, "without-rule");
  ASSERT_EQ(without.status, Lookup::Status::found);
  EXPECT_FALSE(without.flag.targeting) << "no rule: everyone";
  EXPECT_FALSE(fetch(fetcher, "off").flag.flag.enabled);
  EXPECT_EQ(fetch(fetcher, "never-created").status, Lookup::Status::not_found);

  // Remembered for a while: recent() answers without asking again.
  ASSERT_TRUE(fetcher.recent("with-rule"));
  EXPECT_EQ(fetcher.recent("with-rule")->status, Lookup::Status::found);
  ASSERT_TRUE(fetcher.recent("never-created"));
  EXPECT_EQ(fetcher.recent("never-created")->status, Lookup::Status::not_found);
  EXPECT_FALSE(fetcher.recent("not-asked"));
  fetcher.stop();
}

TEST_F(MissFetcherTest, ARuleThatCannotBeReadFailsClosedAndIsNotRemembered) {
  flags.create("guarded");
  targeting.stop();
  MissFetcher fetcher(options());
  Lookup lookup = fetch(fetcher, "guarded");
  ASSERT_EQ(lookup.status, Lookup::Status::found);
  EXPECT_TRUE(lookup.degraded());
  EXPECT_NE(lookup.problem.find("targeting-service"), std::string::npos) << lookup.problem;
  for (int i = 0; i < 20; ++i)
    EXPECT_FALSE(decide(lookup, "user-" + std::to_string(i))) << "the rule is unknown: not true";
  EXPECT_FALSE(fetcher.recent("guarded")) << "a degraded answer is not remembered";

  targeting.start();
  Lookup back = fetch(fetcher, "guarded");
  EXPECT_FALSE(back.degraded());
  EXPECT_TRUE(decide(back, "user-1")) << "no rule: everyone";
  fetcher.stop();
}

TEST_F(MissFetcherTest, FlagServiceDownIsUnavailableAndNotRemembered) {
  flags.stop();
  MissFetcher fetcher(options());
  Lookup lookup = fetch(fetcher, "anything");
  EXPECT_EQ(lookup.status, Lookup::Status::unavailable);
  EXPECT_NE(lookup.problem.find("flag-service"), std::string::npos) << lookup.problem;
  EXPECT_FALSE(fetcher.recent("anything"));
  fetcher.stop();
}

TEST_F(MissFetcherTest, AFloodOfNewNamesKeepsTheRecentlyUsedOnes) {
  toggle::evaluation::FetchOptions o = options();
  o.capacity = 4;
  MissFetcher fetcher(o);
  ASSERT_EQ(fetch(fetcher, "in-use").status, Lookup::Status::not_found);
  for (int i = 0; i < 20; ++i) {
    fetch(fetcher, "random-" + std::to_string(i));
    ASSERT_TRUE(fetcher.recent("in-use")) << "used between every new name: kept, after " << i;
  }
  EXPECT_TRUE(fetcher.recent("random-19"));
  EXPECT_FALSE(fetcher.recent("random-0")) << "the least recently used went first";
  fetcher.stop();
}

// Lookups against a targeting-service that never answers: each takes the whole timeout.
TEST_F(MissFetcherTest, BeyondTheQueueANewNameIsRefusedAtOnceAndAWaitHasADeadline) {
  SilentService silent;
  toggle::evaluation::FetchOptions o = options();
  o.targeting_service_url = silent.url();
  o.timeout = 1000ms;  // the deadline: 1.5 s
  o.threads = 1;
  o.queue = 1;
  MissFetcher fetcher(o);
  Answers answers;
  fetcher.fetch("first", answers.to("first"));    // looked up at once: answered after 1 s
  fetcher.fetch("second", answers.to("second"));  // waits for the thread: would be answered after 2 s
  fetcher.fetch("first", answers.to("first"));    // joins the lookup under way, at no cost
  fetcher.fetch("third", answers.to("third"));    // nowhere to wait: refused at once
  ASSERT_EQ(answers.of("third"), std::vector{Lookup::Status::refused});
  EXPECT_TRUE(answers.of("first").empty());
  EXPECT_TRUE(eventually([&] { return answers.of("second").size() == 1; }));
  EXPECT_EQ(answers.of("second"), std::vector{Lookup::Status::timed_out}) << "its lookup takes 2 s; it waits 1.5 s";
  fetcher.stop();  // every lookup ends, every request is answered
  EXPECT_EQ(answers.of("first").size(), 2u);
  ASSERT_TRUE(fetcher.recent("second")) << "the late answer is remembered for the next request";
  EXPECT_EQ(fetcher.recent("second")->status, Lookup::Status::not_found);
}

TEST_F(MissFetcherTest, NewLookupsAreRateLimited) {
  toggle::evaluation::FetchOptions o = options();
  o.rate = 2;  // two new lookups now, then two a second
  MissFetcher fetcher(o);
  Answers answers;
  fetcher.fetch("one", answers.to("one"));
  fetcher.fetch("two", answers.to("two"));
  fetcher.fetch("three", answers.to("three"));  // a third new name within the second: refused
  EXPECT_EQ(answers.of("three"), std::vector{Lookup::Status::refused});
  EXPECT_TRUE(eventually([&] { return answers.of("one").size() == 1 && answers.of("two").size() == 1; }));
  EXPECT_EQ(answers.of("one"), std::vector{Lookup::Status::not_found});
  // The bucket refills, two tokens a second: after 0.6 s a new name is looked up again.
  std::this_thread::sleep_for(600ms);
  fetcher.fetch("later", answers.to("later"));
  fetcher.stop();  // every lookup ends, every request is answered
  EXPECT_EQ(answers.of("later"), std::vector{Lookup::Status::not_found});
}

// ---------------------------------------------------------------------------------------------
// GET /evaluate on the real App: answers from the catalog its feed followers keep, and fetches
// what the catalog does not have yet. Changes reach it asynchronously: a test that changes a flag
// or a rule waits until evaluation answers accordingly (becomes()).

class EvaluateTest : public ::testing::Test {
 protected:
  explicit EvaluateTest(const EvaluationService::Adjust& adjust = {}) : p(adjust) {}

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
  void set_rule(const std::string& flag, const json& rules) {
    auto res = call("PUT", p.targeting.url() + "/rules/" + flag, admin, json{{"rules", rules}}.dump());
    ASSERT_EQ(res.status, 200) << describe(res);
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
  // Waits until evaluation answers `expected` (the feeds are asynchronous).
  bool becomes(const std::string& user, const std::string& flag, bool expected) {
    return eventually([&] {
      auto res = p.evaluation.evaluate(user, flag);
      return res.status == 200 && body_of(res)["result"] == expected;
    });
  }
  // Waits until the catalog holds `flag`, with a rule or without, without evaluating it (which
  // would send an event).
  bool catalog_has(const std::string& flag, bool with_rule) {
    return eventually([&] {
      if (!p.evaluation.catalog().complete()) return false;
      const auto* entry = p.evaluation.catalog().snapshot()->find(flag);
      return entry && entry->targeting.has_value() == with_rule;
    });
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
  EXPECT_EQ(body_of(summary), json({{"flag_name", "test-checkout"},
                                    {"total", 1},
                                    {"true", 1},
                                    {"false", 0},
                                    {"variants", json::object()},  // /evaluate's events name none
                                    {"reasons", json::object()}}));
}

TEST_F(EvaluateTest, TheCatalogFollowsTheFeeds) {
  ASSERT_TRUE(eventually([&] { return p.evaluation.catalog().complete(); })) << "both feeds synced";
  EXPECT_EQ(call("GET", p.evaluation.url() + "/ready").status, 200);
  create_flag("test-checkout", true);
  create_rule("test-checkout", kPercent100);
  EXPECT_TRUE(catalog_has("test-checkout", true));
  EXPECT_EQ(p.evaluation.catalog().size(), 1u);
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
  EXPECT_TRUE(catalog_has("off", true));
  EXPECT_EQ(result("user-123", "off"), false);
  create_flag("on", true);
  EXPECT_EQ(result("user-123", "on"), true) << "enabled without a rule: everyone";
}

TEST_F(EvaluateTest, ChangesReachEvaluation) {
  create_flag("switch", true);
  EXPECT_EQ(result("u", "switch"), true);
  set_flag("switch", false);
  EXPECT_TRUE(becomes("u", "switch", false)) << "kill switch";
  set_flag("switch", true);
  EXPECT_TRUE(becomes("u", "switch", true));
  create_rule("switch", kPercent0);
  EXPECT_TRUE(becomes("u", "switch", false));
  ASSERT_EQ(call("DELETE", p.flags.url() + "/flags/switch", admin).status, 204);
  EXPECT_TRUE(eventually([&] { return p.evaluation.catalog().size() == 0; }));
  // (An answer fetched on a miss in the last MISS_CACHE_MS may still be served meanwhile.)
  EXPECT_TRUE(becomes("u", "switch", false)) << "deleted";
}

TEST_F(EvaluateTest, PercentageUsesTheOriginalsBuckets) {
  create_flag("enable-new-dashboard", true);
  create_rule("enable-new-dashboard", {{"type", "PERCENTAGE"}, {"value", 50}});
  EXPECT_TRUE(catalog_has("enable-new-dashboard", true));
  EXPECT_EQ(result("user-123", "enable-new-dashboard"), true) << "bucket 25";
  EXPECT_EQ(result("user-abc", "enable-new-dashboard"), false) << "bucket 71";
  // Bucket 25 is in at 26 and out at 25 (the original's `bucket < percentage`).
  set_rule("enable-new-dashboard", {{"type", "PERCENTAGE"}, {"value", 26}});
  EXPECT_TRUE(becomes("user-123", "enable-new-dashboard", true));
  set_rule("enable-new-dashboard", {{"type", "PERCENTAGE"}, {"value", 25}});
  EXPECT_TRUE(becomes("user-123", "enable-new-dashboard", false));
}

TEST_F(EvaluateTest, UserList) {
  create_flag("beta", true);
  create_rule("beta", {{"type", "USER_LIST"}, {"values", json::array({"alice", "bob@example.com"})}});
  EXPECT_TRUE(catalog_has("beta", true));
  EXPECT_EQ(result("alice", "beta"), true);
  EXPECT_EQ(result("bob%40example.com", "beta"), true);
  EXPECT_EQ(result("carol", "beta"), false);
  EXPECT_EQ(result("Alice", "beta"), false) << "exact match";
  set_flag("beta", false);
  EXPECT_TRUE(becomes("alice", "beta", false));
}

TEST_F(EvaluateTest, DisabledRuleMeansNoRule) {
  create_flag("f", true);
  create_rule("f", kPercent0, false);
  EXPECT_EQ(result("u", "f"), true);
  ASSERT_EQ(call("PATCH", p.targeting.url() + "/rules/f", admin, R"({"is_enabled":true})").status, 200);
  EXPECT_TRUE(becomes("u", "f", false));
}

// Deleting a flag deletes its rule (targeting-service follows flag-service): the flag created again
// under the same name is evaluated without the old targeting.
TEST_F(EvaluateTest, ARecreatedFlagIsEvaluatedWithoutTheOldRule) {
  create_flag("beta", true);
  create_rule("beta", {{"type", "USER_LIST"}, {"values", json::array({"alice"})}});
  EXPECT_TRUE(catalog_has("beta", true));
  EXPECT_EQ(result("carol", "beta"), false);
  ASSERT_EQ(call("DELETE", p.flags.url() + "/flags/beta", admin).status, 204);
  ASSERT_TRUE(eventually([&] { return call("GET", p.targeting.url() + "/rules/beta", admin).status == 404; }));
  create_flag("beta", true);
  EXPECT_TRUE(becomes("carol", "beta", true)) << "the old rule is gone with the old flag";
  EXPECT_TRUE(catalog_has("beta", false));
}

TEST_F(EvaluateTest, InvalidQueriesAre400) {
  create_flag("f", true);
  const std::string base = p.evaluation.url() + "/evaluate";
  struct Case {
    std::string query, code;
  };
  for (const auto& c : std::vector<Case>{
           {"", "missing_parameter"},
           {"?user_id=u", "missing_parameter"},
           {"?flag_name=f", "missing_parameter"},
           {"?user_id=&flag_name=f", "missing_parameter"},
           {"?user_id=u&flag_name=", "missing_parameter"},
           {"?user_id=u&flag_name=a%2Fb", "invalid_flag_name"},
           {"?user_id=u&flag_name=a/b", "invalid_flag_name"},
           {"?user_id=u&flag_name=a+b", "invalid_flag_name"},
           {"?user_id=u&flag_name=" + std::string(101, 'f'), "invalid_flag_name"},
           {"?user_id=u&flag_name=%0A", "invalid_flag_name"},
           {"?user_id=u&flag_name=%25zz", "invalid_flag_name"},
           {"?user_id=u&flag_name=%zz", ""},
           {"?user_id=" + std::string(257, 'u') + "&flag_name=f", "invalid_user_id"},
           {"?user_id=a%0Ab&flag_name=f", "invalid_user_id"},
           {"?user_id=%7F&flag_name=f", "invalid_user_id"},
           {"?user_id=%FF%FE&flag_name=f", "invalid_user_id"},
           {"?user_id=%C0%AF&flag_name=f", "invalid_user_id"}}) {
    SCOPED_TRACE(c.query);
    auto res = call("GET", base + c.query);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_FALSE(error_of(res).empty()) << res.body;
    if (!c.code.empty()) {
      EXPECT_EQ(code_of(res), c.code) << res.body;
    }
  }
  EXPECT_EQ(result(std::string(256, 'u'), "f"), true) << "256 characters is the limit";
  EXPECT_EQ(result("%C3%A9" + std::string(255, 'u'), "f"), true) << "characters, not bytes";
  auto too_long = call("GET", base + "?user_id=%C3%A9" + std::string(256, 'u') + "&flag_name=f");
  EXPECT_EQ(too_long.status, 400) << describe(too_long);
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

TEST_F(EvaluateTest, KnownFlagsAreServedWhileFlagServiceIsDown) {
  create_flag("known", true);
  ASSERT_TRUE(catalog_has("known", false));
  p.flags.stop();
  EXPECT_EQ(result("u", "known"), true) << "from memory";
  auto unknown = p.evaluation.evaluate("u", "unknown");
  EXPECT_EQ(unknown.status, 503) << describe(unknown);
  EXPECT_EQ(code_of(unknown), "flag_unavailable");
  EXPECT_NE(error_of(unknown).find("unknown"), std::string::npos) << unknown.body;
  p.flags.start();
  EXPECT_EQ(result("u", "unknown"), false) << "an unavailable answer is not remembered";
}

TEST_F(EvaluateTest, EveryAnswerIsOneEvent) {
  create_flag("counted", true);
  create_rule("counted", {{"type", "USER_LIST"}, {"values", json::array({"user-0", "user-1", "user-2"})}});
  ASSERT_TRUE(catalog_has("counted", true));
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

// EVALUATE_REQUIRE_KEY=true
class EvaluateRequireKeyTest : public EvaluateTest {
 protected:
  EvaluateRequireKeyTest() : EvaluateTest([](EvaluationConfig& c) { c.require_key = true; }) {}
};

TEST_F(EvaluateRequireKeyTest, AValidKeyWithTheEvaluateScopeIsRequired) {
  create_flag("f", true);
  auto none = p.evaluation.evaluate("u", "f");
  EXPECT_EQ(none.status, 401) << describe(none);
  EXPECT_EQ(code_of(none), "missing_key");
  auto bad = p.evaluation.evaluate("u", "f", "tm_key_" + std::string(64, 'a'));
  EXPECT_EQ(bad.status, 401) << describe(bad);
  EXPECT_EQ(code_of(bad), "invalid_key");
  EXPECT_EQ(p.evaluation.evaluate("u", "f", kMasterKey).status, 401);
  std::string reader = p.auth.create_key("reader", {"read"});
  auto unscoped = p.evaluation.evaluate("u", "f", reader);
  EXPECT_EQ(unscoped.status, 403) << describe(unscoped);
  EXPECT_EQ(code_of(unscoped), "missing_scope");
  EXPECT_EQ(code_of(p.evaluation.evaluate("u", "f", reader)), "missing_scope") << "cached verdict";

  auto ok = p.evaluation.evaluate("u", "f", kServiceKey);
  ASSERT_EQ(ok.status, 200) << describe(ok);
  EXPECT_EQ(ok.body, R"({"flag_name":"f","user_id":"u","result":true})");
  EXPECT_EQ(p.evaluation.evaluate("u", "f", kServiceKey).status, 200) << "cached verdict";
  EXPECT_EQ(p.evaluation.evaluate("u", "f", admin).status, 200);
  EXPECT_EQ(p.evaluation.evaluate("", "f", kServiceKey).status, 400) << "with a key, the input is checked";
  auto keyless = p.evaluation.evaluate("", "f");
  EXPECT_EQ(keyless.status, 401) << "the key is checked first: " << describe(keyless);
}

TEST_F(EvaluateRequireKeyTest, AuthDownIs503ForAKeyNotYetCheckedButTheServiceKeyWorks) {
  create_flag("f", true);
  std::string fresh = p.auth.create_key("fresh");
  p.auth.stop();
  auto res = p.evaluation.evaluate("u", "f", fresh);
  EXPECT_EQ(res.status, 503) << describe(res);
  EXPECT_EQ(code_of(res), "auth_unavailable");
  EXPECT_EQ(p.evaluation.evaluate("u", "f").status, 401);
  auto service = p.evaluation.evaluate("u", "f", kServiceKey);
  EXPECT_EQ(service.status, 200) << "checked locally: " << describe(service);
}

// Flags not in the catalog looked up against a targeting-service that never answers: each lookup
// takes its whole timeout (1 s), one at a time, two more names waiting at most.
struct WithSilentTargeting {
  SilentService silent;
};
class EvaluateUnknownFloodTest : protected WithSilentTargeting, public EvaluateTest {
 protected:
  EvaluateUnknownFloodTest()
      : EvaluateTest([this](EvaluationConfig& c) {
          c.misses.targeting_service_url = silent.url();
          c.misses.timeout = 1000ms;
          c.misses.threads = 1;
          c.misses.queue = 2;
          c.misses.remember = 60s;
        }) {}

  // The replies to GET `paths` sent all at once, each on a connection of its own.
  std::vector<RawReply> all_at_once(const std::string& method, const std::vector<std::string>& paths,
                                    const std::string& body = "") {
    std::vector<std::future<RawReply>> pending;
    for (const auto& path : paths)
      pending.push_back(std::async(std::launch::async, [&, path] {
        return raw_call(method, p.evaluation.url() + path, {{"Content-Type", "application/json"}}, body);
      }));
    std::vector<RawReply> replies;
    for (auto& f : pending) replies.push_back(f.get());
    return replies;
  }
  std::uint64_t refused_total() {
    auto res = call("GET", p.evaluation.url() + "/metrics");
    std::istringstream lines(res.body);
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("flag_lookups_refused_total ", 0) == 0) return std::stoull(line.substr(line.find(' ') + 1));
    ADD_FAILURE() << "flag_lookups_refused_total not listed";
    return 0;
  }
};

TEST_F(EvaluateUnknownFloodTest, AFloodOfUnknownNamesIsRefusedWhileKnownFlagsAnswer) {
  create_flag("known", true);
  ASSERT_TRUE(catalog_has("known", false));
  std::uint64_t refused_before = refused_total();
  std::vector<std::string> paths;
  for (int i = 0; i < 12; ++i) paths.push_back("/evaluate?user_id=u&flag_name=unknown-" + std::to_string(i));
  auto flood = std::async(std::launch::async, [&] { return all_at_once("GET", paths); });
  for (int i = 0; i < 5; ++i) EXPECT_EQ(result("user-" + std::to_string(i), "known"), true);

  int refused = 0;
  for (const RawReply& reply : flood.get()) {
    std::string code = field_of(reply.body, "code");
    if (code == "too_many_lookups") {
      ++refused;
      EXPECT_EQ(reply.status, 503) << reply.describe();
      EXPECT_EQ(reply.header("Retry-After"), "1") << reply.describe();
      EXPECT_NE(field_of(reply.body, "error").find("too many unknown flags"), std::string::npos) << reply.describe();
    } else if (code == "flag_lookup_timeout") {
      EXPECT_EQ(reply.status, 503) << reply.describe();
      EXPECT_EQ(reply.header("Retry-After"), "1") << reply.describe();
    } else {  // looked up in time: not found
      EXPECT_EQ(reply.status, 200) << reply.describe();
    }
  }
  EXPECT_GE(refused, 1) << "12 names at once, 3 places";
  EXPECT_EQ(refused_total() - refused_before, static_cast<std::uint64_t>(refused));
}

TEST_F(EvaluateUnknownFloodTest, AParkedRequestGetsATimeoutAndTheLateAnswerServesTheNext) {
  // Two names, one lookup at a time: the second waits for the first (1 s), then its own (1 s),
  // longer than a request waits (1.5 s).
  auto replies = all_at_once("GET", {"/evaluate?user_id=u&flag_name=late-a", "/evaluate?user_id=u&flag_name=late-b"});
  std::vector<std::string> timed_out;
  for (int i = 0; i < 2; ++i) {
    if (field_of(replies[i].body, "code") != "flag_lookup_timeout") continue;
    EXPECT_EQ(replies[i].status, 503) << replies[i].describe();
    EXPECT_NE(field_of(replies[i].body, "error").find("did not answer in time"), std::string::npos);
    timed_out.push_back(i == 0 ? "late-a" : "late-b");
  }
  ASSERT_FALSE(timed_out.empty()) << replies[0].describe() << " / " << replies[1].describe();
  for (const auto& name : timed_out)
    EXPECT_TRUE(becomes("u", name, false)) << "the lookup ended after the reply: remembered";
}

TEST_F(EvaluateUnknownFloodTest, OfrepRefusesInItsOwnShape) {
  std::vector<std::string> paths;
  for (int i = 0; i < 12; ++i) paths.push_back("/ofrep/v1/evaluate/flags/unknown-" + std::to_string(i));
  int refused = 0;
  for (const RawReply& reply : all_at_once("POST", paths, R"({"context":{"targetingKey":"u"}})")) {
    json body = body_of(reply.body);
    if (reply.status == 404) continue;  // looked up in time: FLAG_NOT_FOUND
    EXPECT_EQ(reply.status, 503) << reply.describe();
    EXPECT_EQ(body["errorCode"], "GENERAL") << reply.describe();
    EXPECT_EQ(reply.header("Retry-After"), "1") << reply.describe();
    if (body.value("errorDetails", "").find("too many unknown flags") != std::string::npos) ++refused;
  }
  EXPECT_GE(refused, 1);
}

// The catalog is not complete while targeting-service is down from the start: flags known from
// the flag feed must not be answered "no rule, everyone"; each is fetched, and a rule that cannot
// be read fails closed.
TEST(EvaluateTargetingDownAtStartTest, FailsClosedUntilTheRulesAreKnown) {
  TempDir dir;
  AuthService auth(dir);
  FlagService flags(dir, auth.url());
  TargetingService targeting(dir, auth.url(), flags.url());
  AnalyticsService analytics(dir, auth.url());
  flags.create("guarded");
  flags.create("open");
  auto rule = call("POST", targeting.url() + "/rules", kServiceKey,
                   json{{"flag_name", "guarded"}, {"rules", kPercent0}}.dump());
  ASSERT_EQ(rule.status, 201) << describe(rule);
  targeting.stop();

  EvaluationService evaluation(dir, auth.url(), flags.url(), targeting.url(), analytics.url());
  ASSERT_TRUE(eventually([&] { return evaluation.catalog().size() == 2; })) << "the flag feed was applied";
  EXPECT_FALSE(evaluation.catalog().complete());
  EXPECT_EQ(call("GET", evaluation.url() + "/ready").status, 503);
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

  flags.stop();  // answers the followers' parked polls, so that evaluation stops at once
  targeting.stop();
}

}  // namespace
}  // namespace itest
