// SemVer 2.0.0 parsing and precedence.
#include "toggle/rules/semver.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace toggle::rules;

TEST(SemVer, ParsesTheParts) {
  const auto v = parse_semver("v1.22.333-rc.1+build.5");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, "1");
  EXPECT_EQ(v->minor, "22");
  EXPECT_EQ(v->patch, "333");
  EXPECT_EQ(v->prerelease, "rc.1");
  EXPECT_EQ(v->build, "build.5");
}

TEST(SemVer, AcceptsTheGrammarAndALeadingV) {
  for (const char* text : {"0.0.0", "1.2.3", "v1.2.3", "V1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1",
                           "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0-x-y-z.--", "1.0.0+20130313144700",
                           "1.0.0-beta+exp.sha.5114f85", "1.0.0+21AF26D3----117B344092BD", "1.0.0+001",
                           "99999999999999999999999.999999999999999999.99999999999999999"}) {
    EXPECT_TRUE(parse_semver(text)) << text;
  }
}

TEST(SemVer, RejectsWhatIsNotAVersion) {
  for (const char* text : {"", "v", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-01", "1.2.3-",
                           "1.2.3+", "1.2.3-a..b", "1.2.3+a..b", "1.2.3-a_b", " 1.2.3", "1.2.3 ", "vv1.2.3",
                           "-1.2.3", "1.-2.3", "a.b.c", "1.2.3-\xc3\xa9", "1.2.3+", "1..3", "1.2.", ".1.2"}) {
    EXPECT_FALSE(parse_semver(text)) << text;
  }
}

int cmp(const char* a, const char* b) {
  const auto va = parse_semver(a), vb = parse_semver(b);
  EXPECT_TRUE(va && vb) << a << " " << b;
  return compare_semver(*va, *vb);
}

TEST(SemVer, PrecedenceOfTheSpecsExample) {
  // semver.org §11: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta < 1.0.0-beta.2
  //   < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0
  const std::vector<const char*> ordered = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                                            "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
                                            "1.0.1", "1.1.0", "2.0.0", "10.0.0"};
  for (std::size_t i = 0; i < ordered.size(); ++i) {
    for (std::size_t j = 0; j < ordered.size(); ++j) {
      const int c = cmp(ordered[i], ordered[j]);
      EXPECT_EQ(c < 0, i < j) << ordered[i] << " vs " << ordered[j];
      EXPECT_EQ(c == 0, i == j) << ordered[i] << " vs " << ordered[j];
    }
  }
}

TEST(SemVer, NumbersCompareNumericallyWhateverTheirLength) {
  EXPECT_LT(cmp("2.0.0", "10.0.0"), 0);
  EXPECT_LT(cmp("1.9.0", "1.10.0"), 0);
  EXPECT_LT(cmp("99999999999999999999.0.0", "100000000000000000000.0.0"), 0);
  EXPECT_LT(cmp("1.0.0-2", "1.0.0-10"), 0);
  EXPECT_LT(cmp("1.0.0-10", "1.0.0-a"), 0);  // numeric identifiers are lower than alphanumeric
  EXPECT_LT(cmp("1.0.0-Z", "1.0.0-a"), 0);   // ASCII order
}

TEST(SemVer, BuildMetadataAndTheVAreIgnored) {
  EXPECT_EQ(cmp("1.0.0+a", "1.0.0+b"), 0);
  EXPECT_EQ(cmp("v1.0.0", "1.0.0"), 0);
  EXPECT_EQ(cmp("1.0.0-rc.1+x", "1.0.0-rc.1"), 0);
}

}  // namespace
