// PostgreSQL restarted under running services (the real executables, as processes): while it is
// down, requests that need it fail with 503 (never a 500, never a crash) and /ready says 503; once
// it is back, the same processes serve again, and replicas wake each other's long polls again.
#include <future>

#include "harness.hpp"
#include "process.hpp"

namespace itest {
namespace {

using testsupport::ServiceProcess;

class PostgresOutageTest : public ::testing::Test {
 protected:
  PostgresOutageTest() {
    testsupport::admin_exec(pg.base_url(), "CREATE DATABASE auth_db");
    testsupport::admin_exec(pg.base_url(), "CREATE DATABASE flags_db");
  }

  std::unique_ptr<ServiceProcess> start(const std::string& service, const std::string& name, int port,
                                        const std::string& database) {
    std::map<std::string, std::string> env = {
        {"PORT", std::to_string(port)},  {"HOST", "127.0.0.1"},
        {"DATA_DIR", dir.file(name)},    {"DATABASE_URL", pg.url(database)},
        {"DATABASE_POOL_SIZE", "4"},     {"AUTH_SERVICE_URL", "http://127.0.0.1:" + std::to_string(auth_port)},
        {"MASTER_KEY", kMasterKey},      {"SERVICE_API_KEY", kServiceKey},
        {"HTTP_THREADS", "1"},           {"HTTP_WORKER_THREADS", "4"},
        {"SHUTDOWN_TIMEOUT_MS", "2000"}, {"LOG_LEVEL", "warn"},
    };
    auto p = std::make_unique<ServiceProcess>(service, env, dir.file(name + ".log"));
    std::string url = "http://127.0.0.1:" + std::to_string(port);
    if (!eventually([&] { return call("GET", url + "/health", "", "", 500ms).status == 200 || !p->running(); }) ||
        !p->running())
      throw std::runtime_error(name + " did not start:\n" + p->log_tail());
    return p;
  }
  static std::string url(int port) { return "http://127.0.0.1:" + std::to_string(port); }

  TempDir dir;
  testsupport::PostgresServer pg;  // this test's own: it is stopped and started
  int auth_port = testsupport::free_port(), flag_a_port = testsupport::free_port(),
      flag_b_port = testsupport::free_port();
};

TEST_F(PostgresOutageTest, RequestsAre503WhileItIsDownAndServeAgainWhenItIsBack) {
  auto auth = start("auth-service", "auth", auth_port, "auth_db");
  auto flag_a = start("flag-service", "flag-a", flag_a_port, "flags_db");
  auto flag_b = start("flag-service", "flag-b", flag_b_port, "flags_db");
  auto key_res = call("POST", url(auth_port) + "/admin/keys", kMasterKey, R"({"name":"ops"})");
  ASSERT_EQ(key_res.status, 201) << describe(key_res);
  std::string key = body_of(key_res)["key"].get<std::string>();
  ASSERT_EQ(call("POST", url(flag_a_port) + "/flags", key, R"({"name":"f","is_enabled":true})").status, 201);
  for (int port : {auth_port, flag_a_port, flag_b_port})
    ASSERT_EQ(call("GET", url(port) + "/ready").status, 200) << port;

  pg.stop();

  // Down: every route that needs the database is a 503 with a JSON error, on every service.
  for (int port : {flag_a_port, flag_b_port}) {
    SCOPED_TRACE(port);
    auto list = call("GET", url(port) + "/flags", key);
    EXPECT_EQ(list.status, 503) << describe(list);
    EXPECT_FALSE(error_of(list).empty()) << list.body;
    EXPECT_EQ(call("GET", url(port) + "/flags/f", key).status, 503);
    EXPECT_EQ(call("PUT", url(port) + "/flags/f", key, R"({"is_enabled":false})").status, 503);
    EXPECT_EQ(call("POST", url(port) + "/flags", key, R"({"name":"g"})").status, 503);
    EXPECT_EQ(call("GET", url(port) + "/changes?since=0", key).status, 503);
    auto ready = call("GET", url(port) + "/ready");
    EXPECT_EQ(ready.status, 503) << describe(ready);
    EXPECT_NE(error_of(ready).find("database"), std::string::npos) << ready.body;
  }
  EXPECT_EQ(call("POST", url(auth_port) + "/admin/keys", kMasterKey, R"({"name":"x"})").status, 503);
  EXPECT_EQ(call("GET", url(auth_port) + "/admin/keys", kMasterKey).status, 503);
  EXPECT_EQ(call("GET", url(auth_port) + "/ready").status, 503);
  EXPECT_EQ(call("GET", url(flag_a_port) + "/health").status, 200) << "alive, only not ready";
  for (auto* p : {auth.get(), flag_a.get(), flag_b.get()}) ASSERT_TRUE(p->running()) << p->log_tail();

  pg.start();

  // Back, without restarting anything (generous bound: only detects "never").
  EXPECT_TRUE(eventually([&] { return call("GET", url(flag_a_port) + "/flags/f", key).status == 200; }, 20s));
  EXPECT_TRUE(eventually([&] { return call("GET", url(flag_b_port) + "/ready").status == 200; }, 20s));
  EXPECT_TRUE(eventually([&] { return call("GET", url(auth_port) + "/ready").status == 200; }, 20s));
  auto created = call("POST", url(flag_b_port) + "/flags", key, R"({"name":"after"})");
  EXPECT_EQ(created.status, 201) << describe(created);
  auto new_key = call("POST", url(auth_port) + "/admin/keys", kMasterKey, R"({"name":"after"})");
  EXPECT_EQ(new_key.status, 201) << describe(new_key);

  // The replicas' LISTEN connections came back too: a write through A wakes a poll parked at B.
  auto head = body_of(call("GET", url(flag_b_port) + "/changes?since=0", key));
  std::string poll_url = url(flag_b_port) + "/changes?since=" + std::to_string(head["version"].get<std::int64_t>()) +
                         "&epoch=" + head["epoch"].get<std::string>() + "&wait_ms=20000";
  auto parked = std::async(std::launch::async, [&] { return call("GET", poll_url, key, "", 30000ms); });
  ASSERT_EQ(parked.wait_for(300ms), std::future_status::timeout);
  ASSERT_EQ(call("PUT", url(flag_a_port) + "/flags/f", key, R"({"is_enabled":false})").status, 200);
  ASSERT_EQ(parked.wait_for(15s), std::future_status::ready) << "B's poll was not woken after the restart";
  auto woken = parked.get();
  ASSERT_EQ(woken.status, 200) << describe(woken);
  ASSERT_EQ(body_of(woken)["flags"].size(), 1u);
  EXPECT_EQ(body_of(woken)["flags"][0]["is_enabled"], false);

  for (auto* p : {auth.get(), flag_a.get(), flag_b.get()}) {
    EXPECT_TRUE(p->running()) << p->service() << "\n" << p->log_tail();
    EXPECT_EQ(p->stop(), 0) << p->service() << " did not stop cleanly\n" << p->log_tail();
  }
}

}  // namespace
}  // namespace itest
