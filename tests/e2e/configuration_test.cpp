// Configuration as a new user meets it: every bad setting stops a service at start with exit
// status 2 and a message naming the variable; the development keys are warned about.
#include <gtest/gtest.h>

#include "platform.hpp"

namespace e2e {
namespace {

struct BadSetting {
  const char* name;
  const char* service;
  const char* variable;
  const char* value;
};
void PrintTo(const BadSetting& c, std::ostream* os) { *os << c.name; }

class BadSettingTest : public testing::TestWithParam<BadSetting> {};

TEST_P(BadSettingTest, StopsTheServiceWithStatus2NamingTheVariable) {
  const auto& c = GetParam();
  Platform platform;
  platform.set_env(c.service, c.variable, c.value);
  EXPECT_EQ(platform.run_to_exit(c.service), 2) << platform.log_tail(c.service);
  std::string log = platform.log_tail(c.service);
  EXPECT_NE(log.find(std::string("\"problem\":\"") + c.variable), std::string::npos) << log;
  EXPECT_NE(log.find("\"level\":\"error\""), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadSettingTest,
    testing::Values(BadSetting{"HostNotAnAddress", "flag-service", "HOST", "not-an-ip"},
                    BadSetting{"HostEmpty", "evaluation-service", "HOST", ""},
                    BadSetting{"MasterKeyEmpty", "auth-service", "MASTER_KEY", ""},
                    BadSetting{"ServiceKeyEmpty", "analytics-service", "SERVICE_API_KEY", ""},
                    BadSetting{"PortNotANumber", "targeting-service", "PORT", "eighty"},
                    BadSetting{"LogLevelUnknown", "auth-service", "LOG_LEVEL", "verbose"},
                    BadSetting{"CorsOriginWithAPath", "evaluation-service", "CORS_ALLOWED_ORIGINS",
                               "https://app.example.com/page"},
                    BadSetting{"DatabaseUrlScheme", "flag-service", "DATABASE_URL", "mysql://db/flags"},
                    BadSetting{"MissFetchQueueZero", "evaluation-service", "MISS_FETCH_QUEUE", "0"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(DevelopmentKeys, AreWarnedAboutAtStartWithTheWarnLevel) {
  Platform platform;
  platform.start("auth-service");
  platform.stop("auth-service");
  std::string log = platform.log_tail("auth-service", 50);
  EXPECT_NE(log.find(R"("level":"warn","service":"auth-service","msg":"MASTER_KEY is the development default)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("SERVICE_API_KEY is the development default"), std::string::npos) << log;
  EXPECT_EQ(log.find("\"warning\""), std::string::npos) << "the level is named as LOG_LEVEL names it";
}

}  // namespace
}  // namespace e2e
