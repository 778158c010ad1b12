// Unit tests for libs/core crypto.hpp: SHA-256, CSPRNG hex, constant-time comparison, UUIDv4.
#include "toggle/core/crypto.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

namespace crypto = toggle::crypto;

bool is_lower_hex(const std::string& s) { return s.find_first_not_of("0123456789abcdef") == std::string::npos; }

// ---------------------------------------------------------------------------------------------
// sha256_hex: FIPS 180-2 / NIST example vectors.

struct ShaCase {
  const char* name;
  std::string input;
  const char* digest;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const ShaCase& c, std::ostream* os) { *os << c.name; }

const std::vector<ShaCase> kShaCases = {
    {"Abc", "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"Empty", "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"TwoBlocks", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"MillionA", std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

class Sha256 : public testing::TestWithParam<ShaCase> {};

TEST_P(Sha256, MatchesTheKnownVector) { EXPECT_EQ(crypto::sha256_hex(GetParam().input), GetParam().digest); }

INSTANTIATE_TEST_SUITE_P(Vectors, Sha256, testing::ValuesIn(kShaCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Sha256Test, BinaryInputWithNulBytes) {
  std::string with_nul("a\0b", 3);
  EXPECT_NE(crypto::sha256_hex(with_nul), crypto::sha256_hex("a"));
  EXPECT_EQ(crypto::sha256_hex(with_nul).size(), 64u);
}

// ---------------------------------------------------------------------------------------------
// random_hex

TEST(RandomHex, HasTwoLowercaseHexDigitsPerByte) {
  for (std::size_t bytes : {1u, 16u, 32u, 100u}) {
    std::string s = crypto::random_hex(bytes);
    EXPECT_EQ(s.size(), bytes * 2);
    EXPECT_TRUE(is_lower_hex(s)) << s;
  }
}

TEST(RandomHex, ZeroBytesIsEmpty) { EXPECT_EQ(crypto::random_hex(0), ""); }

TEST(RandomHex, TwoCallsDiffer) {
  EXPECT_NE(crypto::random_hex(16), crypto::random_hex(16));
  EXPECT_NE(crypto::random_hex(32), crypto::random_hex(32));
}

TEST(RandomHex, UsesTheWholeAlphabet) {
  // 4096 hex digits: missing any of the 16 would be a ~1e-114 event for a uniform source.
  std::string s = crypto::random_hex(2048);
  for (char c : std::string("0123456789abcdef")) EXPECT_NE(s.find(c), std::string::npos) << c;
}

// ---------------------------------------------------------------------------------------------
// constant_time_equal

struct EqualCase {
  const char* name;
  std::string a, b;
  bool equal;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const EqualCase& c, std::ostream* os) { *os << c.name; }

const std::vector<EqualCase> kEqualCases = {
    {"SameKey", "tm_key_0123456789abcdef", "tm_key_0123456789abcdef", true},
    {"BothEmpty", "", "", true},
    {"LastCharDiffers", "tm_key_0123456789abcdef", "tm_key_0123456789abcdeg", false},
    {"FirstCharDiffers", "abc", "xbc", false},
    {"Prefix", "secret", "secret-and-more", false},
    {"EmptyVsNonEmpty", "", "x", false},
    {"CaseMatters", "Secret", "secret", false},
    {"NulInside", std::string("a\0b", 3), std::string("a\0c", 3), false},
    {"NulVsShorter", std::string("a\0", 2), "a", false},
};

class ConstantTimeEqual : public testing::TestWithParam<EqualCase> {};

TEST_P(ConstantTimeEqual, Compares) {
  const auto& c = GetParam();
  EXPECT_EQ(crypto::constant_time_equal(c.a, c.b), c.equal);
  EXPECT_EQ(crypto::constant_time_equal(c.b, c.a), c.equal);
}

INSTANTIATE_TEST_SUITE_P(Cases, ConstantTimeEqual, testing::ValuesIn(kEqualCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// uuid_v4

void expect_uuid_v4(const std::string& id) {
  ASSERT_EQ(id.size(), 36u) << id;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      ASSERT_EQ(id[i], '-') << id;
    } else {
      ASSERT_TRUE((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')) << id;
    }
  }
  EXPECT_EQ(id[14], '4') << "version nibble: " << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << "variant nibble: " << id;
}

TEST(UuidV4, HasTheCanonicalFormatVersionAndVariant) {
  for (int i = 0; i < 1000; ++i) {
    expect_uuid_v4(crypto::uuid_v4());
    if (HasFatalFailure()) return;
  }
}

TEST(UuidV4, VariantNibbleTakesAllFourValues) {
  std::unordered_set<char> seen;
  for (int i = 0; i < 1000 && seen.size() < 4; ++i) seen.insert(crypto::uuid_v4()[19]);
  EXPECT_EQ(seen.size(), 4u);
}

TEST(UuidV4, HundredThousandIdsAreUnique) {
  std::unordered_set<std::string> ids;
  ids.reserve(100000);
  for (int i = 0; i < 100000; ++i) ids.insert(crypto::uuid_v4());
  EXPECT_EQ(ids.size(), 100000u);
}

TEST(UuidV4, ThreadsDoNotShareASequence) {
  // Each thread has its own generator; they must be seeded independently.
  constexpr int kThreads = 4, kPerThread = 25000;
  std::vector<std::vector<std::string>> per_thread(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      per_thread[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) per_thread[t].push_back(crypto::uuid_v4());
    });
  for (auto& th : threads) th.join();
  std::unordered_set<std::string> all;
  for (auto& v : per_thread) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), std::size_t{kThreads} * kPerThread);
}

}  // namespace

// RFC 4231, test case 2: HMAC-SHA-256 with key "Jefe".
TEST(CryptoTest, HmacSha256MatchesTheRfcVector) {
  EXPECT_EQ(toggle::crypto::hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_NE(toggle::crypto::hmac_sha256_hex("Jefe", "what do ya want for nothing!"),
            toggle::crypto::hmac_sha256_hex("Jefe", "what do ya want for nothing?"));
}
