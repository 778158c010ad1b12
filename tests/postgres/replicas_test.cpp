// Replicas of flag-service and targeting-service on one PostgreSQL database (their real Apps,
// in-process): a write through one wakes the long polls parked at the other (LISTEN/NOTIFY), and a
// reader ahead of a replica that has not heard of a write yet is parked, not answered in a loop.
#include <future>

#include "harness.hpp"

namespace itest {
namespace {

struct FeedHead {
  std::int64_t version;
  std::string epoch;
};

FeedHead head_of(const std::string& service_url) {
  auto res = call("GET", service_url + "/changes?since=0", kServiceKey);
  if (res.status != 200) throw std::runtime_error("GET /changes: " + describe(res));
  json j = body_of(res);
  return {j["version"].get<std::int64_t>(), j["epoch"].get<std::string>()};
}

std::future<toggle::ClientResponse> park(const std::string& service_url, const FeedHead& seen, int wait_ms = 20000) {
  std::string url = service_url + "/changes?since=" + std::to_string(seen.version) + "&epoch=" + seen.epoch +
                    "&wait_ms=" + std::to_string(wait_ms);
  return std::async(std::launch::async, [url] { return call("GET", url, kServiceKey, "", 30000ms); });
}

class ReplicasTest : public ::testing::Test {
 protected:
  // flag-service first: stopping it answers the targeting replicas' parked polls of its feed.
  ~ReplicasTest() override {
    flags_b.stop();
    flags_a.stop();
  }

  TempDir dir;
  AuthService auth{dir};
  FlagService flags_a{dir, auth.url(), Backend::postgres};
  FlagService flags_b = replica_of(flags_a);
  TargetingService rules_a{dir, auth.url(), flags_a.url(), Backend::postgres};
  TargetingService rules_b = replica_of(rules_a);
};

TEST_F(ReplicasTest, AFlagWriteThroughOneReplicaWakesThePollParkedAtTheOther) {
  ASSERT_EQ(call("POST", flags_a.url() + "/flags", kServiceKey, R"({"name":"kill-me","is_enabled":true})").status, 201);
  FeedHead seen = head_of(flags_b.url());
  ASSERT_EQ(seen.version, 1) << "replica B reads the same database";
  EXPECT_EQ(seen.epoch, head_of(flags_a.url()).epoch);

  auto at_b = park(flags_b.url(), seen);
  auto at_a = park(flags_a.url(), seen);
  ASSERT_EQ(at_b.wait_for(300ms), std::future_status::timeout) << "answered with nothing new: " << describe(at_b.get());
  auto put = call("PUT", flags_a.url() + "/flags/kill-me", kServiceKey, R"({"is_enabled":false})");
  ASSERT_EQ(put.status, 200) << describe(put);

  // Generous bound: only detects a poll left parked for its whole wait.
  ASSERT_EQ(at_b.wait_for(10s), std::future_status::ready) << "the write through A did not wake B's poll";
  auto res = at_b.get();
  ASSERT_EQ(res.status, 200) << describe(res);
  json d = body_of(res);
  EXPECT_EQ(d["full"], false);
  EXPECT_EQ(d["version"], 2);
  ASSERT_EQ(d["flags"].size(), 1u);
  EXPECT_EQ(d["flags"][0]["name"], "kill-me");
  EXPECT_EQ(d["flags"][0]["is_enabled"], false);
  ASSERT_EQ(at_a.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(body_of(at_a.get())["version"], 2);

  // And the other way round, for a deletion.
  seen.version = 2;
  auto again_at_a = park(flags_a.url(), seen);
  ASSERT_EQ(again_at_a.wait_for(300ms), std::future_status::timeout);
  ASSERT_EQ(call("DELETE", flags_b.url() + "/flags/kill-me", kServiceKey).status, 204);
  ASSERT_EQ(again_at_a.wait_for(10s), std::future_status::ready) << "the write through B did not wake A's poll";
  EXPECT_EQ(body_of(again_at_a.get())["deleted"], json::array({"kill-me"}));
}

TEST_F(ReplicasTest, ARuleWriteThroughOneReplicaWakesThePollParkedAtTheOther) {
  flags_a.create("f");
  std::int64_t flag_version = head_of(flags_a.url()).version;
  ASSERT_EQ(call("POST", rules_b.url() + "/rules", kServiceKey,
                 R"({"flag_name":"f","rules":{"type":"PERCENTAGE","value":10}})")
                .status,
            201);
  FeedHead seen = head_of(rules_a.url());
  auto at_a = park(rules_a.url(), seen);
  ASSERT_EQ(at_a.wait_for(300ms), std::future_status::timeout);
  ASSERT_EQ(
      call("PATCH", rules_b.url() + "/rules/f", kServiceKey, R"({"rules":{"type":"PERCENTAGE","value":90}})").status,
      200);
  ASSERT_EQ(at_a.wait_for(10s), std::future_status::ready) << "the write through B did not wake A's poll";
  json d = body_of(at_a.get());
  ASSERT_EQ(d["rules"].size(), 1u);
  EXPECT_EQ(d["rules"][0]["rules"]["value"], 90);
  // The flag feed did not move: rules have a change log of their own.
  EXPECT_EQ(head_of(flags_a.url()).version, flag_version);
}

TEST_F(ReplicasTest, AReaderAheadOfAReplicaThatHasNotHeardOfAWriteIsParked) {
  ASSERT_EQ(call("POST", flags_a.url() + "/flags", kServiceKey, R"({"name":"f"})").status, 201);
  FeedHead seen = head_of(flags_a.url());
  ASSERT_TRUE(eventually([&] { return flags_b.feed().version() == seen.version; }));
  // A write that sends no notification (as if B's listener had missed it): B's feed still says
  // version 1 while the database, and a reader that asked A, are at 2.
  flags_a.database().exec("UPDATE flag_change_version SET version = version + 1");
  seen.version += 1;
  ASSERT_LT(flags_b.feed().version(), seen.version);

  auto at_b = park(flags_b.url(), seen, 5000);
  EXPECT_EQ(at_b.wait_for(500ms), std::future_status::timeout)
      << "answered at once (the reader would come back in a loop): " << describe(at_b.get());
  EXPECT_EQ(flags_b.feed().version(), seen.version) << "B read the version from the database";
  ASSERT_EQ(call("PUT", flags_a.url() + "/flags/f", kServiceKey, R"({"is_enabled":true})").status, 200);
  ASSERT_EQ(at_b.wait_for(10s), std::future_status::ready);
  json d = body_of(at_b.get());
  EXPECT_EQ(d["full"], false);
  EXPECT_EQ(d["version"], seen.version + 1);
  ASSERT_EQ(d["flags"].size(), 1u);
  EXPECT_EQ(d["flags"][0]["is_enabled"], true);
}

}  // namespace
}  // namespace itest
