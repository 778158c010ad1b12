// Unit tests for libs/core rate_limited_log.hpp: a line repeated by a flood is written once per
// period, with the count of the lines held back.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>

#include "toggle/core/json.hpp"
#include "toggle/core/rate_limited_log.hpp"

namespace {

using namespace std::chrono_literals;

// The log lines written (JSON objects, one a line) while `write` runs.
template <class Write>
std::vector<toggle::json> lines_of(Write write) {
  ::testing::internal::CaptureStdout();
  write();
  std::istringstream out(::testing::internal::GetCapturedStdout());
  std::vector<toggle::json> lines;
  for (std::string line; std::getline(out, line);) lines.push_back(toggle::json::parse(line));
  return lines;
}

TEST(RateLimitedLogTest, OneLinePerMessagePerPeriod) {
  toggle::log::RateLimited limited(1h);
  auto lines = lines_of([&] {
    for (int i = 0; i < 100; ++i) limited.warn("lookup failed", {{"i", i}});
    limited.warn("rule unreadable");
  });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["msg"], "lookup failed");
  EXPECT_EQ(lines[0]["level"], "warn");
  EXPECT_EQ(lines[0]["i"], 0) << "the first is written, with its fields";
  EXPECT_FALSE(lines[0].contains("suppressed")) << "none held back before it";
  EXPECT_EQ(lines[1]["msg"], "rule unreadable") << "each message has its own period";
}

TEST(RateLimitedLogTest, TheNextLineCountsTheLinesHeldBack) {
  toggle::log::RateLimited limited(100ms);
  auto lines = lines_of([&] {
    for (int i = 0; i < 100; ++i) limited.warn("lookup failed");
    std::this_thread::sleep_for(150ms);
    limited.warn("lookup failed");  // a period later: written
  });
  ASSERT_GE(lines.size(), 2u);
  std::int64_t held_back = 0;
  for (const auto& line : lines) held_back += line.value("suppressed", 0);
  EXPECT_EQ(std::int64_t(lines.size()) + held_back, 101) << "every line is written or counted";
}

}  // namespace
