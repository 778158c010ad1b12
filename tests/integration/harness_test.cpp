// The harness itself: the services run with the configuration their main() builds (the real
// defaults, not values of the harness's own), and a replica shares its original's database.
#include "harness.hpp"

namespace itest {
namespace {

TEST(HarnessTest, ServicesRunWithTheDefaultsOfTheirMain) {
  TempDir dir;
  const auto& e = evaluation_config(dir, "http://a", "http://f", "http://t", "http://n");
  EXPECT_EQ(e.misses.remember, 1000ms) << "MISS_CACHE_MS";
  EXPECT_EQ(e.misses.threads, 4u) << "MISS_FETCH_THREADS";
  EXPECT_EQ(e.misses.queue, 1000u) << "MISS_FETCH_QUEUE";
  EXPECT_EQ(e.feeds.wait, 25000ms) << "SYNC_WAIT_MS";
  EXPECT_EQ(e.events.flush_interval, 100ms) << "EVENT_FLUSH_INTERVAL_MS";
  EXPECT_EQ(e.events.batch_size, 1000u) << "EVENT_BATCH_SIZE";
  EXPECT_FALSE(e.require_key) << "EVALUATE_REQUIRE_KEY";
  EXPECT_FALSE(e.redis) << "REDIS_URL";
  EXPECT_EQ(e.service_key, kServiceKey);
  EXPECT_EQ(e.feeds.api_key, kServiceKey);
  EXPECT_EQ(e.misses.api_key, kServiceKey);
  EXPECT_EQ(e.misses.flag_service_url, "http://f");
  EXPECT_EQ(e.misses.targeting_service_url, "http://t");
  EXPECT_EQ(e.events.spool_dir, dir.file("evaluation-spool"));

  TestDatabase db(Backend::sqlite, dir, "x");
  EXPECT_TRUE(analytics_config(db, "http://a").database.options.durable_commits) << "analytics' main() sets it";
  EXPECT_EQ(flag_config(db, "http://a").database.options.pool_size, 8u) << "DATABASE_POOL_SIZE";
  EXPECT_EQ(targeting_config(db, "http://a", "http://f").flags.full_resync, 300000ms) << "SYNC_FULL_RESYNC_MS";
  EXPECT_EQ(auth_config(db).master_key, kMasterKey);
}

TEST(HarnessTest, AReplicaSharesTheDatabaseAndRestartsKeepThePort) {
  TempDir dir;
  AuthService auth(dir);
  FlagService a(dir, auth.url());
  FlagService b = replica_of(a);
  EXPECT_NE(a.url(), b.url());
  EXPECT_EQ(b.database_url(), a.database_url());
  a.create("through-a");
  EXPECT_EQ(call("GET", b.url() + "/flags/through-a", kServiceKey).status, 200);

  std::string url = a.url();
  a.stop();
  EXPECT_EQ(call("GET", url + "/health").status, 0) << "stopped";
  a.start();
  EXPECT_EQ(a.url(), url);
  EXPECT_EQ(call("GET", url + "/flags/through-a", kServiceKey).status, 200) << "same data after a restart";
}

}  // namespace
}  // namespace itest
