// "Production mode": every store on a real PostgreSQL, evaluation replicas sharing a real Redis,
// two flag-service replicas on one database — the servers started by the test itself. Changes
// made through any flag-service replica reach every evaluation replica, and evaluation keeps
// answering while PostgreSQL restarts, Redis stops or a flag-service replica dies.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>

#include "platform.hpp"
#include "postgres_server.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/database.hpp"
#include "toggle/core/sql.hpp"

using toggle::json;

namespace e2e {
namespace {

class ProductionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pg = new testsupport::PostgresServer(); }
  static void TearDownTestSuite() {
    delete pg;
    pg = nullptr;
  }

  ProductionTest() : platform(std::map<std::string, std::string>{{"REDIS_URL", redis.url()}}) {
    static int run = 0;
    std::string suffix = "_" + std::to_string(::getpid()) + "_" + std::to_string(run++);
    for (const char* db : {"auth_db", "flags_db", "targeting_db", "analytics_db"}) {
      testsupport::admin_exec(pg->base_url(), std::string("CREATE DATABASE ") + db + suffix);
      databases.push_back(db + suffix);
    }
    platform.add_replica("flag-service", "flag-2");
    platform.add_replica("evaluation-service", "evaluation-2");
    platform.set_env("auth-service", "DATABASE_URL", pg->url("auth_db" + suffix));
    platform.set_env("flag-service", "DATABASE_URL", pg->url("flags_db" + suffix));
    platform.set_env("flag-2", "DATABASE_URL", pg->url("flags_db" + suffix));
    platform.set_env("targeting-service", "DATABASE_URL", pg->url("targeting_db" + suffix));
    platform.set_env("analytics-service", "DATABASE_URL", pg->url("analytics_db" + suffix));
    // The second evaluation replica follows the second flag-service replica.
    platform.set_env("evaluation-2", "FLAG_SERVICE_URL", platform.url("flag-2"));
  }
  ~ProductionTest() override {
    platform.stop_all();  // before their databases go
    for (const auto& db : databases) {
      try {
        testsupport::admin_exec(pg->base_url(), "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
      } catch (...) {
      }
    }
  }
  void SetUp() override {
    platform.start_all();
    platform.start("flag-2");
    platform.start("evaluation-2");
  }
  void TearDown() override {
    if (HasFailure())
      for (const char* s : {"flag-service", "flag-2", "evaluation-service", "evaluation-2", "analytics-service"})
        std::cerr << "--- " << s << " log\n" << platform.log_tail(s);
  }

  std::optional<bool> evaluate(const std::string& replica, const std::string& flag, const std::string& user) {
    auto r = platform.get(replica, "/evaluate?user_id=" + user + "&flag_name=" + flag, "");
    if (r.status != 200) return std::nullopt;
    return json::parse(r.body)["result"].get<bool>();
  }
  bool every_replica_says(const std::string& flag, bool expected,
                          std::chrono::milliseconds within = std::chrono::seconds(10)) {
    return eventually(
        [&] {
          return evaluate("evaluation-service", flag, "u") == expected &&
                 evaluate("evaluation-2", flag, "u") == expected;
        },
        within);
  }
  int put_flag(const std::string& via, const std::string& flag, bool enabled) {
    return platform.send("PUT", via, "/flags/" + flag, enabled ? R"({"is_enabled":true})" : R"({"is_enabled":false})")
        .status;
  }

  static testsupport::PostgresServer* pg;
  RedisServer redis;
  Platform platform;
  std::vector<std::string> databases;
};

testsupport::PostgresServer* ProductionTest::pg = nullptr;

TEST_F(ProductionTest, TheSeedFlowWorksOnPostgresWithTwoReplicas) {
  auto flag = platform.send("POST", "flag-service", "/flags",
                            R"({"name":"test-checkout","description":"Teste do fluxo de checkout","is_enabled":true})");
  ASSERT_EQ(flag.status, 201) << flag.body;
  EXPECT_EQ(json::parse(flag.body)["created_at"].get<std::string>().back(), 'Z');
  ASSERT_EQ(platform
                .send("POST", "targeting-service", "/rules",
                      R"({"flag_name":"test-checkout","is_enabled":true,"rules":{"type":"PERCENTAGE","value":100}})")
                .status,
            201);
  for (const char* replica : {"evaluation-service", "evaluation-2"}) {
    auto r = platform.get(replica, "/evaluate?user_id=user-123&flag_name=test-checkout", "");
    EXPECT_EQ(r.body, R"({"flag_name":"test-checkout","user_id":"user-123","result":true})") << replica;
  }
  EXPECT_TRUE(eventually([&] {
    auto s = platform.get("analytics-service", "/summary?flag_name=test-checkout");
    return s.status == 200 && json::parse(s.body)["total"] == 2;
  }));
  // The same flag, read through the other flag-service replica: one database.
  EXPECT_EQ(platform.get("flag-2", "/flags/test-checkout").status, 200);
}

TEST_F(ProductionTest, AChangeThroughEitherFlagReplicaReachesEveryEvaluationReplica) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"fanout","is_enabled":true})").status, 201);
  ASSERT_TRUE(every_replica_says("fanout", true));
  bool enabled = true;
  for (const char* via : {"flag-2", "flag-service", "flag-2", "flag-service"}) {
    enabled = !enabled;
    ASSERT_EQ(put_flag(via, "fanout", enabled), 200);
    EXPECT_TRUE(every_replica_says("fanout", enabled))  // how fast is measured by make bench, not asserted
        << "via " << via;
  }
  // With flag-service (followed by the first replica) dead, a change through flag-2 still reaches
  // both: the second replica through its feed, the first through Redis.
  platform.kill("flag-service");
  enabled = !enabled;
  ASSERT_EQ(put_flag("flag-2", "fanout", enabled), 200);
  EXPECT_TRUE(every_replica_says("fanout", enabled, std::chrono::seconds(2)));
}

TEST_F(ProductionTest, EvaluationAnswersThroughoutAPostgresRestartAndWritesRecover) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"through","is_enabled":true})").status, 201);
  ASSERT_TRUE(every_replica_says("through", true));
  std::atomic<bool> done{false};
  std::atomic<int> answered{0}, failed{0};
  std::thread load([&] {
    while (!done)
      for (const char* replica : {"evaluation-service", "evaluation-2"})
        (evaluate(replica, "through", "u") == true ? answered : failed)++;
  });
  pg->stop();
  auto down = platform.send("PUT", "flag-service", "/flags/through", R"({"is_enabled":false})");
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(platform.get("flag-service", "/ready", "").status, 503);
  redis.stop();  // and Redis too, for good measure
  pg->start();
  redis.start();
  // Writes recover without restarting anything.
  EXPECT_TRUE(eventually([&] { return put_flag("flag-service", "through", true) == 200; }, std::chrono::seconds(15)));
  EXPECT_TRUE(eventually([&] { return platform.get("flag-service", "/ready", "").status == 200; }));
  done = true;
  load.join();
  EXPECT_GT(answered.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  ASSERT_EQ(put_flag("flag-2", "through", false), 200);
  EXPECT_TRUE(every_replica_says("through", false, std::chrono::seconds(5)));
}

// An idle platform leaves PostgreSQL idle: with flags and rules stored, evaluation's long polls
// are parked in flag- and targeting-service, which wait for LISTEN/NOTIFY, not on queries. Counted
// as statements started by the services' connections (pg_stat_activity), not as time.
TEST_F(ProductionTest, AnIdlePlatformLeavesPostgresIdle) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"still","is_enabled":true})").status, 201);
  ASSERT_EQ(platform
                .send("POST", "targeting-service", "/rules",
                      R"({"flag_name":"still","rules":{"type":"PERCENTAGE","value":50}})")
                .status,
            201);
  ASSERT_TRUE(every_replica_says("still", true) || every_replica_says("still", false));
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the last replies and caches settle
  toggle::sql::Options options;
  options.pool_size = 1;
  auto db = toggle::sql::open_postgres(pg->url("postgres"), options);
  // One line per service connection: its pid and when its current or last statement started.
  auto activity = [&] {
    std::string names;
    for (const auto& d : databases) names += (names.empty() ? "'" : ",'") + d + "'";
    std::set<std::string> out;
    for (const auto& row : db->exec("SELECT pid::text || ' ' || coalesce(query_start::text, '') || ' ' || "
                                    "left(query, 60) FROM pg_stat_activity WHERE datname IN (" + names + ")")
                               .rows)
      out.insert(row.text(0));
    return out;
  };
  auto before = activity();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto after = activity();
  std::vector<std::string> started;
  for (const auto& line : after)
    if (!before.count(line)) started.push_back(line);
  EXPECT_TRUE(started.empty()) << started.size() << " statements started while idle, e.g. " << started.front();
}

// The pipeline's promise with analytics on PostgreSQL: a burst from four clients over both
// evaluation replicas, analytics killed (SIGKILL) in the middle of it and started again: every
// evaluation served is stored exactly once.
TEST_F(ProductionTest, EveryEventOfABurstIsStoredOnceOnPostgresWhenAnalyticsIsKilled) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"burst","is_enabled":true})").status, 201);
  ASSERT_TRUE(every_replica_says("burst", true));
  // Clients take numbered evaluations up to `limit`, so the burst stays a known size however
  // slow the machine is (a page of /events holds it all).
  std::atomic<int> served{0}, refused{0}, next{0}, limit{0};
  std::atomic<bool> done{false};
  auto client = [&](const char* replica) {
    while (!done) {
      int n = next++;
      if (n >= limit) {
        --next;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      auto r = platform.get(replica, "/evaluate?flag_name=burst&user_id=user-" + std::to_string(n), "");
      (r.status == 200 ? served : refused)++;
    }
  };
  std::vector<std::thread> clients;
  auto stop_clients = [&] {
    done = true;
    for (auto& t : clients)
      if (t.joinable()) t.join();
  };
  struct Joiner {
    std::function<void()> f;
    ~Joiner() { f(); }
  } joiner{stop_clients};
  for (const char* replica : {"evaluation-service", "evaluation-2", "evaluation-service", "evaluation-2"})
    clients.emplace_back(client, replica);
  auto answered = [&](int n) {
    return eventually([&] { return served.load() + refused.load() >= n; }, std::chrono::seconds(60));
  };
  limit = 6000;
  ASSERT_TRUE(answered(2000)) << served.load() << " served";
  platform.kill("analytics-service");  // in the middle of the burst
  ASSERT_TRUE(answered(4000)) << served.load() << " served";
  platform.start("analytics-service");
  ASSERT_TRUE(answered(6000)) << served.load() << " served";
  stop_clients();
  EXPECT_EQ(refused.load(), 0);

  auto total = [&] {
    auto r = platform.get("analytics-service", "/summary?flag_name=burst");
    return r.status == 200 ? json::parse(r.body)["total"].get<int>() : -1;
  };
  // Besides the burst's users, the stored events include the checks of every_replica_says (user "u").
  EXPECT_TRUE(eventually([&] { return total() >= served.load(); }, std::chrono::seconds(60)))
      << total() << " stored of " << served.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // anything twice would show by now
  auto events = json::parse(platform.get("analytics-service", "/events?flag_name=burst&limit=10000").body);
  ASSERT_LT(events.size(), 10000u) << "the burst is meant to fit in one page";
  std::set<std::string> ids, burst_users;
  for (const auto& e : events) {
    ids.insert(e["event_id"].get<std::string>());
    if (e["user_id"] != "u") burst_users.insert(e["user_id"].get<std::string>());
  }
  EXPECT_EQ(ids.size(), events.size()) << "no event_id twice";
  EXPECT_EQ(burst_users.size(), static_cast<std::size_t>(served.load())) << "each evaluation once, none lost";
  EXPECT_EQ(total(), static_cast<int>(events.size())) << "/summary counts each stored event once";
}

}  // namespace
}  // namespace e2e
