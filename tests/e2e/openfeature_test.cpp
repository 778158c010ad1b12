// The real OpenFeature JavaScript SDKs and their OFREP providers (tests/openfeature/sdk_test.mjs,
// npm packages declared in tests/package.json) against the five services: typed flags, targeting
// by attributes and segments, a split, not found, disabled, the bulk endpoint's 304 and a change
// event after a flag changes.
#include <gtest/gtest.h>

#include "platform.hpp"

namespace e2e {
namespace {

TEST(OpenFeatureSdkTest, TheJavaScriptSdksEvaluateEveryKindOfFlagThroughOfrep) {
  // With keys required, as a production evaluation-service is run: the providers send the key.
  Platform platform(std::map<std::string, std::string>{{"EVALUATE_REQUIRE_KEY", "true"}});
  platform.start_all();
  std::string output;
  int status = run_command({{"TM_FLAG_URL", platform.url("flag-service")},
                            {"TM_TARGETING_URL", platform.url("targeting-service")},
                            {"TM_EVALUATION_URL", platform.url("evaluation-service")},
                            {"TM_API_KEY", kServiceKey}},
                           {"node", TOGGLE_OPENFEATURE_SDK_TEST}, &output);
  EXPECT_EQ(status, 0) << output << log_tails(platform, {"evaluation-service", "targeting-service", "flag-service"});
  EXPECT_NE(output.find("all checks passed"), std::string::npos) << output;
}

}  // namespace
}  // namespace e2e
