// Unit tests for libs/core text.hpp: JSON string escaping, ISO-8601 timestamps, iequals and the
// UTF-8 validator.
#include "toggle/core/text.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

using namespace std::chrono;
using namespace std::string_literals;

// Tests that reproduce a known libs/core bug are skipped unless this variable is set, so that the
// suite stays green while the bug is open and the reproduction can still be run on demand.
// ---------------------------------------------------------------------------------------------
// append_json_string

struct JsonStringCase {
  const char* name;
  std::string input;
  std::string expected;  // the literal appended, quotes included
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const JsonStringCase& c, std::ostream* os) { *os << c.name; }

const std::vector<JsonStringCase> kJsonStringCases = {
    {"Empty", "", R"("")"},
    {"PlainAscii", "hello world", R"("hello world")"},
    {"Quote", R"(say "hi")", R"("say \"hi\"")"},
    {"Backslash", R"(C:\dir\)", R"("C:\\dir\\")"},
    {"Newline", "a\nb", R"("a\nb")"},
    {"CarriageReturn", "a\rb", R"("a\rb")"},
    {"Tab", "a\tb", R"("a\tb")"},
    {"NulByte", "a\0b"s, R"("a\u0000b")"},
    {"Control01", "\x01", R"("\u0001")"},
    {"Backspace", "\b", R"("\u0008")"},
    {"FormFeed", "\f", R"("\u000c")"},
    {"Control1F", "\x1f", R"("\u001f")"},
    {"EscapeChar", "\x1b[0m", R"("\u001b[0m")"},
    {"SpaceIsNotEscaped", " ", R"(" ")"},
    {"DelPassesThrough", "\x7f", "\"\x7f\""},
    {"SlashPassesThrough", "a/b", R"("a/b")"},
    {"Utf8TwoByte", "jos\xc3\xa9", "\"jos\xc3\xa9\""},
    {"Utf8ThreeByte", "\xe2\x82\xac", "\"\xe2\x82\xac\""},
    {"Utf8FourByte", "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},
    {"MixedRuns", "x\"y\\z\n", R"("x\"y\\z\n")"},
    {"OnlyEscapes", "\"\"\\\\", R"("\"\"\\\\")"},
};

class AppendJsonString : public testing::TestWithParam<JsonStringCase> {};

TEST_P(AppendJsonString, EscapesAsJsonRequires) {
  const auto& c = GetParam();
  std::string out;
  toggle::append_json_string(out, c.input);
  EXPECT_EQ(out, c.expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, AppendJsonString, testing::ValuesIn(kJsonStringCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(AppendJsonStringTest, AppendsWithoutClearingTheOutput) {
  std::string out = "{\"k\":";
  toggle::append_json_string(out, "v");
  out += "}";
  EXPECT_EQ(out, R"({"k":"v"})");
}

TEST(AppendJsonStringTest, EveryAsciiByteRoundTripsThroughAJsonParser) {
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  std::string out;
  toggle::append_json_string(out, all);
  auto parsed = nlohmann::json::parse(out);  // throws if the literal is not valid JSON
  EXPECT_EQ(parsed.get<std::string>(), all);
}

// ---------------------------------------------------------------------------------------------
// iso8601

struct IsoCase {
  const char* name;
  system_clock::time_point time;
  const char* expected;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const IsoCase& c, std::ostream* os) { *os << c.name; }

system_clock::time_point at(year_month_day day, hours h, minutes m, seconds s, microseconds us) {
  return sys_days{day} + h + m + s + us;
}

const std::vector<IsoCase> kIsoCases = {
    {"UnixEpoch", system_clock::time_point{}, "1970-01-01T00:00:00.000Z"},
    {"ExampleFromTheHeader", at(2026y / March / 12, 0h, 17min, 54s, 167000us), "2026-03-12T00:17:54.167Z"},
    {"MillisecondsPaddedToThreeDigits", at(2026y / January / 2, 3h, 4min, 5s, 7000us), "2026-01-02T03:04:05.007Z"},
    {"TwoDigitMilliseconds", at(2026y / January / 2, 3h, 4min, 5s, 42000us), "2026-01-02T03:04:05.042Z"},
    {"ZeroMilliseconds", at(2000y / December / 31, 23h, 59min, 59s, 0us), "2000-12-31T23:59:59.000Z"},
    {"LeapDayLastMillisecond", at(2024y / February / 29, 23h, 59min, 59s, 999000us), "2024-02-29T23:59:59.999Z"},
    {"MicrosecondsTruncated", at(2030y / June / 15, 12h, 0min, 0s, 1999us), "2030-06-15T12:00:00.001Z"},
    {"FourDigitYearPadding", at(1999y / September / 9, 9h, 9min, 9s, 9000us), "1999-09-09T09:09:09.009Z"},
};

class Iso8601 : public testing::TestWithParam<IsoCase> {};

TEST_P(Iso8601, FormatsUtcWithMilliseconds) { EXPECT_EQ(toggle::iso8601(GetParam().time), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(Cases, Iso8601, testing::ValuesIn(kIsoCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Iso8601Test, NowHasTheFixedShape) {
  std::string s = toggle::iso8601_now();
  ASSERT_EQ(s.size(), 24u) << s;
  EXPECT_EQ(s[4], '-');
  EXPECT_EQ(s[10], 'T');
  EXPECT_EQ(s[19], '.');
  EXPECT_EQ(s.back(), 'Z');
}

TEST(Iso8601Test, BeforeTheEpochCountsBackwards) {
  // Regression (fixed): iso8601() truncates toward zero (ms / 1000, ms % 1000), so one millisecond before the
  // epoch prints "1970-01-01T00:00:00.-01Z". Low impact (logs only stamp "now"). See report.
  EXPECT_EQ(toggle::iso8601(system_clock::time_point{} - 1ms), "1969-12-31T23:59:59.999Z");
}

// ---------------------------------------------------------------------------------------------
// iequals

struct IequalsCase {
  const char* name;
  std::string a, b;
  bool equal;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const IequalsCase& c, std::ostream* os) { *os << c.name; }

const std::vector<IequalsCase> kIequalsCases = {
    {"BothEmpty", "", "", true},
    {"Identical", "bearer", "bearer", true},
    {"DifferentCase", "Content-Type", "content-TYPE", true},
    {"AllUpper", "BEARER ", "bearer ", true},
    {"DifferentLength", "bearer", "bearer ", false},
    {"EmptyVsNonEmpty", "", "a", false},
    {"DifferentLetters", "abc", "abd", false},
    {"DigitsAndPunctuation", "x-1_2.3", "X-1_2.3", true},
    // Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by 0x20 but are not letters.
    {"AtIsNotBacktick", "@", "`", false},
    {"BracketIsNotBrace", "[", "{", false},
    {"NonAsciiBytesCompareExactly", "\xc3\xa9", "\xc3\x89", false},
};

class Iequals : public testing::TestWithParam<IequalsCase> {};

TEST_P(Iequals, ComparesAsciiCaseInsensitively) {
  const auto& c = GetParam();
  EXPECT_EQ(toggle::iequals(c.a, c.b), c.equal);
  EXPECT_EQ(toggle::iequals(c.b, c.a), c.equal) << "must be symmetric";
}

INSTANTIATE_TEST_SUITE_P(Cases, Iequals, testing::ValuesIn(kIequalsCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// is_valid_utf8

struct Utf8Case {
  const char* name;
  std::string bytes;
  bool valid;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const Utf8Case& c, std::ostream* os) { *os << c.name; }

const std::vector<Utf8Case> kUtf8Cases = {
    {"Empty", "", true},
    {"Ascii", "hello, world", true},
    {"EmbeddedNul", "a\0b"s, true},
    {"TwoByteLowest", "\xc2\x80", true},             // U+0080
    {"TwoByteCopyright", "\xc2\xa9", true},          // U+00A9
    {"TwoByteHighest", "\xdf\xbf", true},            // U+07FF
    {"ThreeByteLowest", "\xe0\xa0\x80", true},       // U+0800
    {"ThreeByteEuro", "\xe2\x82\xac", true},         // U+20AC
    {"BeforeSurrogates", "\xed\x9f\xbf", true},      // U+D7FF
    {"AfterSurrogates", "\xee\x80\x80", true},       // U+E000
    {"ThreeByteHighest", "\xef\xbf\xbf", true},      // U+FFFF
    {"FourByteLowest", "\xf0\x90\x80\x80", true},    // U+10000
    {"FourByteEmoji", "\xf0\x9f\x98\x80", true},     // U+1F600
    {"HighestCodePoint", "\xf4\x8f\xbf\xbf", true},  // U+10FFFF
    {"MixedText", "jos\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80!", true},
    {"LoneContinuation", "\x80", false},
    {"ContinuationAfterAscii", "a\xbf", false},
    {"InvalidLeadFF", "\xff", false},
    {"InvalidLeadFE", "\xfe", false},
    {"FiveByteForm", "\xf8\x88\x80\x80\x80", false},
    {"OverlongNulTwoBytes", "\xc0\x80", false},
    {"OverlongSlashTwoBytes", "\xc0\xaf", false},
    {"OverlongC1", "\xc1\xbf", false},
    {"OverlongThreeBytes", "\xe0\x80\xaf", false},
    {"OverlongThreeBytesHighest", "\xe0\x9f\xbf", false},  // U+07FF in 3 bytes
    {"OverlongFourBytes", "\xf0\x80\x80\xaf", false},
    {"OverlongFourBytesHighest", "\xf0\x8f\xbf\xbf", false},  // U+FFFF in 4 bytes
    {"HighSurrogateLowest", "\xed\xa0\x80", false},           // U+D800
    {"HighSurrogate", "\xed\xad\xbf", false},                 // U+DB7F
    {"LowSurrogateHighest", "\xed\xbf\xbf", false},           // U+DFFF
    {"SurrogatePairAsCesu8", "\xed\xa0\xbd\xed\xb8\x80", false},
    {"AboveMaxF4", "\xf4\x90\x80\x80", false},  // U+110000
    {"AboveMaxF5", "\xf5\x80\x80\x80", false},
    {"AboveMaxF7", "\xf7\xbf\xbf\xbf", false},
    {"TruncatedTwoByte", "\xc2", false},
    {"TruncatedThreeByte", "\xe2\x82", false},
    {"TruncatedFourByte", "\xf0\x9f\x98", false},
    {"TruncatedAtEndOfText", "ok\xf0\x9f", false},
    {"AsciiInsteadOfContinuation", "\xc2\x41", false},
    {"LeadInsteadOfContinuation", "\xe2\xc2\xa9", false},
    {"BadSecondOfThree", "\xe2\x28\xa1", false},
    {"BadThirdOfFour", "\xf0\x9f\x28\x80", false},
};

class IsValidUtf8 : public testing::TestWithParam<Utf8Case> {};

TEST_P(IsValidUtf8, Classifies) {
  const auto& c = GetParam();
  EXPECT_EQ(toggle::is_valid_utf8(c.bytes), c.valid);
  // The verdict must not depend on what precedes a sequence.
  EXPECT_EQ(toggle::is_valid_utf8("prefix " + c.bytes), c.valid);
}

INSTANTIATE_TEST_SUITE_P(Cases, IsValidUtf8, testing::ValuesIn(kUtf8Cases),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
