// Several evaluation replicas sharing a Redis: changes reach every replica, a new replica warms
// from Redis, and no part failing (Redis, flag-service) stops evaluation.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "platform.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/redis.hpp"

using toggle::json;

namespace e2e {
namespace {

class ReplicasTest : public ::testing::Test {
 protected:
  ReplicasTest() : platform(std::map<std::string, std::string>{{"REDIS_URL", redis.url()}}) {
    platform.add_replica("evaluation-service", "evaluation-2");
    platform.add_replica("evaluation-service", "evaluation-3");
  }
  void SetUp() override {
    platform.start_all();
    platform.start("evaluation-2");
  }
  void TearDown() override {
    if (HasFailure())
      for (const char* s : {"flag-service", "evaluation-service", "evaluation-2", "evaluation-3"})
        std::cerr << "--- " << s << " log\n" << platform.log_tail(s);
  }
  // The result, or nullopt if the replica did not answer 200.
  std::optional<bool> evaluate(const std::string& replica, const std::string& flag, const std::string& user) {
    auto r = platform.get(replica, "/evaluate?user_id=" + user + "&flag_name=" + flag, "");
    if (r.status != 200) return std::nullopt;
    return json::parse(r.body)["result"].get<bool>();
  }
  bool every_replica_says(const std::string& flag, const std::string& user, bool expected,
                          std::chrono::milliseconds within = std::chrono::seconds(10)) {
    return eventually(
        [&] {
          return evaluate("evaluation-service", flag, user) == expected &&
                 evaluate("evaluation-2", flag, user) == expected;
        },
        within);
  }
  void put_flag(const std::string& flag, bool enabled) {
    auto r = platform.send("PUT", "flag-service", "/flags/" + flag,
                           enabled ? R"({"is_enabled":true})" : R"({"is_enabled":false})");
    ASSERT_EQ(r.status, 200) << r.body;
  }

  RedisServer redis;
  Platform platform;
};

TEST_F(ReplicasTest, AChangeReachesEveryReplica) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"shared","is_enabled":true})").status, 201);
  ASSERT_TRUE(every_replica_says("shared", "u1", true));
  for (bool enabled : {false, true, false}) {
    put_flag("shared", enabled);
    EXPECT_TRUE(every_replica_says("shared", "u1", enabled))  // how fast is measured by make bench, not asserted
        << enabled;
  }
}

// A change shared through Redis is applied by the other replica and not shared back: once every
// replica has it, the channel falls silent (replicas echoing each other's changes kept two
// replicas and Redis busy forever). Counted in messages, not time.
TEST_F(ReplicasTest, TheReplicasFallQuietOnRedisAfterAChange) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"quiet","is_enabled":true})").status, 201);
  ASSERT_TRUE(every_replica_says("quiet", "u1", true));
  put_flag("quiet", false);
  ASSERT_TRUE(every_replica_says("quiet", "u1", false));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // what is in flight arrives
  std::atomic<int> messages{0};
  auto started = std::chrono::steady_clock::now();
  toggle::RedisClient listener(*toggle::parse_redis_url(redis.url()), std::chrono::milliseconds(100));
  listener.subscribe(
      "togglemaster:evaluation:changes", [&](const std::string&) { ++messages; },
      [&] { return std::chrono::steady_clock::now() - started > std::chrono::seconds(2); });
  EXPECT_EQ(messages.load(), 0) << "replicas keep sending changes to each other";
}

TEST_F(ReplicasTest, ANewReplicaWarmsFromRedisWhileFlagAndTargetingServicesAreDown) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"warm","is_enabled":true})").status, 201);
  ASSERT_EQ(platform
                .send("POST", "targeting-service", "/rules",
                      R"({"flag_name":"warm","rules":{"type":"USER_LIST","values":["ann"]}})")
                .status,
            201);
  ASSERT_TRUE(every_replica_says("warm", "ann", true) && every_replica_says("warm", "bob", false));
  platform.kill("flag-service");
  platform.kill("targeting-service");
  platform.start("evaluation-3");
  EXPECT_EQ(platform.get("evaluation-3", "/ready", "").status, 200);
  EXPECT_EQ(evaluate("evaluation-3", "warm", "ann"), true);
  EXPECT_EQ(evaluate("evaluation-3", "warm", "bob"), false);
}

// Segments are shared like flags and rules: a new replica warms with them, and OFREP answers
// through a rule that names one.
TEST_F(ReplicasTest, ANewReplicaWarmsWithTheSegments) {
  ASSERT_EQ(
      platform
          .send("POST", "targeting-service", "/segments",
                R"({"name":"staff","conditions":[{"attribute":"email","operator":"ends_with","value":"@acme.com"}]})")
          .status,
      201);
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"internal","is_enabled":true})").status, 201);
  ASSERT_EQ(platform
                .send("POST", "targeting-service", "/rules",
                      R"({"flag_name":"internal","rules":[{"name":"staff only",)"
                      R"("conditions":[{"operator":"in_segment","values":["staff"]}],"serve":{"variant":"on"}}]})")
                .status,
            201);
  // Staff are matched by the rule (TARGETING_MATCH), the others get the default (DEFAULT).
  auto ofrep = [&](const std::string& replica, const std::string& email) {
    auto r = platform.send("POST", replica, "/ofrep/v1/evaluate/flags/internal",
                           json{{"context", {{"targetingKey", "u"}, {"email", email}}}}.dump());
    return r.status == 200 ? json::parse(r.body).value("reason", "") : "HTTP " + std::to_string(r.status);
  };
  ASSERT_TRUE(eventually([&] { return ofrep("evaluation-2", "ann@acme.com") == "TARGETING_MATCH"; }));
  platform.kill("flag-service");
  platform.kill("targeting-service");
  EXPECT_TRUE(eventually([&] {
    platform.start("evaluation-3");
    bool ok = platform.get("evaluation-3", "/ready", "").status == 200 &&
              ofrep("evaluation-3", "ann@acme.com") == "TARGETING_MATCH";
    if (!ok) platform.stop("evaluation-3");
    return ok;
  })) << ofrep("evaluation-3", "ann@acme.com");
  EXPECT_EQ(ofrep("evaluation-3", "bob@example.com"), "DEFAULT");
}

// Redis is not trusted. Whatever something other than a replica writes there (here: a forged
// state and a forged change that would switch a flag off for good, a state without an epoch, a
// deeply nested message, garbage) is ignored and counted: no replica crashes, none changes an
// evaluation, a new replica starts, and real changes still reach everyone.
TEST_F(ReplicasTest, WhatIsWrittenToRedisByAnyoneButAReplicaIsIgnored) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"guarded","is_enabled":true})").status, 201);
  ASSERT_TRUE(every_replica_says("guarded", "u1", true));
  std::string epoch = json::parse(platform.get("flag-service", "/changes?since=0").body)["epoch"];
  json forged = {{"epoch", epoch}, {"version", 999999999999}, {"full", true},
                 {"flags", {{{"name", "guarded"}, {"is_enabled", false}}}}, {"deleted", json::array()}};
  toggle::RedisClient intruder(*toggle::parse_redis_url(redis.url()));
  const std::string channel = "togglemaster:evaluation:changes";
  intruder.publish(channel, json{{"origin", "intruder"}, {"feed", "flags"},
                                 {"base", {{"epoch", epoch}, {"version", 0}}}, {"reply", forged}}.dump());
  intruder.publish(channel, std::string(100000, '['));
  intruder.publish(channel, "not even json");
  intruder.set("togglemaster:evaluation:rules", R"({"full":true})");  // no epoch: crashed new replicas
  intruder.set("togglemaster:evaluation:flags", forged.dump());

  platform.start("evaluation-3");  // warms from what Redis holds: finds nothing it can trust
  EXPECT_TRUE(eventually([&] { return metric(platform, "evaluation-service", "redis_entries_rejected_total") >= 3; }));
  EXPECT_GE(metric(platform, "evaluation-3", "redis_entries_rejected_total"), 2);
  EXPECT_TRUE(every_replica_says("guarded", "u1", true));
  EXPECT_TRUE(eventually([&] { return evaluate("evaluation-3", "guarded", "u1") == true; }));

  put_flag("guarded", false);  // the real thing still works
  EXPECT_TRUE(every_replica_says("guarded", "u1", false));
  EXPECT_TRUE(eventually([&] { return evaluate("evaluation-3", "guarded", "u1") == false; }));
}

TEST_F(ReplicasTest, EvaluationAnswersThroughoutWhileRedisStopsAndStarts) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"steady","is_enabled":true})").status, 201);
  ASSERT_TRUE(every_replica_says("steady", "u", true));
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, failed{0};
  std::thread load([&] {
    Platform* p = &platform;
    while (!done) {
      for (const char* replica : {"evaluation-service", "evaluation-2"}) {
        auto r = p->get(replica, "/evaluate?user_id=u&flag_name=steady", "");
        (r.status == 200 ? answered : failed)++;
      }
    }
  });
  redis.stop();
  put_flag("steady", false);  // changes still flow through the change feeds
  EXPECT_TRUE(every_replica_says("steady", "u", false));
  redis.start();
  put_flag("steady", true);
  EXPECT_TRUE(every_replica_says("steady", "u", true));
  done = true;
  load.join();
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  // Redis caught up: a replica started now warms with the latest state.
  platform.kill("flag-service");
  platform.kill("targeting-service");
  EXPECT_TRUE(eventually([&] {
    platform.start("evaluation-3");
    bool ok = evaluate("evaluation-3", "steady", "u") == true;
    if (!ok) platform.stop("evaluation-3");
    return ok;
  }));
}

TEST_F(ReplicasTest, EvaluationAnswersFromMemoryWhileFlagServiceIsKilled) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"kept","is_enabled":true})").status, 201);
  ASSERT_TRUE(every_replica_says("kept", "u", true));
  platform.kill("flag-service");
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(evaluate("evaluation-service", "kept", "u" + std::to_string(i)), true);
    EXPECT_EQ(evaluate("evaluation-2", "kept", "u" + std::to_string(i)), true);
  }
  platform.start("flag-service");
  put_flag("kept", false);
  EXPECT_TRUE(every_replica_says("kept", "u", false, std::chrono::seconds(5)));
}

}  // namespace
}  // namespace e2e
