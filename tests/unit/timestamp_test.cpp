// RFC 3339 date-times.
#include "toggle/rules/timestamp.hpp"

#include <gtest/gtest.h>

namespace {

using namespace toggle::rules;

Timestamp at(const char* text) {
  const auto t = parse_rfc3339(text);
  EXPECT_TRUE(t) << text;
  return t.value_or(Timestamp{});
}

TEST(Rfc3339, EpochAndKnownInstants) {
  EXPECT_EQ(at("1970-01-01T00:00:00Z"), (Timestamp{0, 0}));
  EXPECT_EQ(at("2001-09-09T01:46:40Z"), (Timestamp{1'000'000'000, 0}));
  EXPECT_EQ(at("2038-01-19T03:14:08Z"), (Timestamp{2'147'483'648, 0}));
  EXPECT_EQ(at("1969-12-31T23:59:59Z"), (Timestamp{-1, 0}));
  EXPECT_EQ(at("0000-01-01T00:00:00Z"), (Timestamp{-62'167'219'200, 0}));
  EXPECT_EQ(at("9999-12-31T23:59:59Z"), (Timestamp{253'402'300'799, 0}));
}

TEST(Rfc3339, OffsetsNameTheSameInstant) {
  EXPECT_EQ(at("2025-01-31T10:00:00+01:00"), at("2025-01-31T09:00:00Z"));
  EXPECT_EQ(at("2025-01-31T04:30:00-04:30"), at("2025-01-31T09:00:00Z"));
  EXPECT_EQ(at("2025-01-01T00:30:00+01:00"), at("2024-12-31T23:30:00Z"));  // across a year
  EXPECT_EQ(at("2025-01-31T09:00:00-00:00"), at("2025-01-31T09:00:00+00:00"));
}

TEST(Rfc3339, LowercaseAndSpaceSeparators) {
  EXPECT_EQ(at("2025-01-31t09:00:00z"), at("2025-01-31T09:00:00Z"));
  EXPECT_EQ(at("2025-01-31 09:00:00Z"), at("2025-01-31T09:00:00Z"));
}

TEST(Rfc3339, Fractions) {
  EXPECT_EQ(at("2025-01-31T09:00:00.5Z").nanos, 500'000'000);
  EXPECT_EQ(at("2025-01-31T09:00:00.123456789Z").nanos, 123'456'789);
  EXPECT_EQ(at("2025-01-31T09:00:00.1234567891234Z").nanos, 123'456'789);  // beyond nanoseconds: ignored
  EXPECT_LT(at("2025-01-31T09:00:00Z"), at("2025-01-31T09:00:00.000000001Z"));
}

TEST(Rfc3339, LeapDaysAndLeapSeconds) {
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("2000-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("2023-02-29T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("1900-02-29T00:00:00Z"));
  EXPECT_EQ(at("2016-12-31T23:59:60Z"), at("2017-01-01T00:00:00Z"));
}

TEST(Rfc3339, RejectsWhatTheRfcDoesNotAllow) {
  for (const char* text : {"", "2025-01-31", "2025-01-31T09:00:00", "2025-01-31T09:00Z", "20250131T090000Z",
                           "2025-01-31T09:00:00+0100", "2025-01-31T09:00:00+01", "2025-01-31T09:00:00.Z",
                           "2025-13-01T00:00:00Z", "2025-00-01T00:00:00Z", "2025-04-31T00:00:00Z",
                           "2025-01-00T00:00:00Z", "2025-01-31T24:00:00Z", "2025-01-31T23:60:00Z",
                           "2025-01-31T23:59:61Z", "2025-01-31T09:00:00+24:00", "2025-01-31T09:00:00+01:60",
                           "2025-01-31X09:00:00Z", "2025-01-31T09:00:00ZZ", "2025-01-31T09:00:00Z ",
                           " 2025-01-31T09:00:00Z", "+2025-01-31T09:00:00Z", "2025-1-31T09:00:00Z",
                           "2025-01-31T09:00:00+01:00:00", "２０２５-01-31T09:00:00Z", "1735689600"}) {
    EXPECT_FALSE(parse_rfc3339(text)) << text;
  }
}

}  // namespace
