// An idle platform does no work: evaluation-service's change-feed polls are parked by flag- and
// targeting-service until something changes, whatever the feeds' history (empty, flags without
// rules, ...). Measured by counting the requests the feeds answer, not by timing.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "platform.hpp"

namespace e2e {
namespace {

// Sum of every http_responses_total sample in a service's /metrics.
std::int64_t responses_served(Platform& platform, const std::string& service) {
  auto r = platform.get(service, "/metrics", "");
  EXPECT_EQ(r.status, 200);
  std::istringstream lines(r.body);
  std::int64_t total = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("http_responses_total", 0) == 0) total += std::stoll(line.substr(line.rfind(' ') + 1));
  return total;
}

// Requests answered by flag- and targeting-service during `idle`, not counting the /metrics
// calls that measure them.
std::int64_t requests_while_idle(Platform& platform, std::chrono::seconds idle) {
  auto before = responses_served(platform, "flag-service") + responses_served(platform, "targeting-service");
  std::this_thread::sleep_for(idle);
  auto after = responses_served(platform, "flag-service") + responses_served(platform, "targeting-service");
  return after - before - 2;  // the two /metrics replies of the first reading
}

TEST(IdlePlatform, MakesNoRequestsWhetherEmptyOrHoldingFlagsWithoutRules) {
  Platform platform;
  platform.start_all();
  ASSERT_TRUE(eventually([&] { return platform.get("evaluation-service", "/ready", "").status == 200; }));

  // Empty: neither feed has ever had a write. Each follower has one poll parked per feed; a
  // parked poll is answered at most every SYNC_WAIT_MS (25 s), so a few seconds see almost none.
  EXPECT_LE(requests_while_idle(platform, std::chrono::seconds(3)), 4);

  // Flags but no rules: the targeting feed still has no write.
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"idle-flag","is_enabled":true})").status, 201);
  ASSERT_TRUE(eventually([&] {
    auto r = platform.get("evaluation-service", "/evaluate?user_id=u&flag_name=idle-flag", "");
    return r.body.find("\"result\":true") != std::string::npos;
  }));
  EXPECT_LE(requests_while_idle(platform, std::chrono::seconds(3)), 4);
}

}  // namespace
}  // namespace e2e
