// MurmurHash3 x86_32 against published vectors, and the split bucket built on it.
#include "toggle/rules/hash.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "toggle/rules/rules.hpp"

namespace {

using namespace toggle::rules;

struct HashCase {
  std::string input;
  std::uint32_t seed;
  std::uint32_t expected;
};

// The vectors the reference implementation's users publish (SMHasher's MurmurHash3_x86_32; the
// set from "MurmurHash3 test vectors" on Stack Overflow, also used by Boost.Hash2's tests), plus
// "hello, world" ones from a constexpr implementation's tests. They cover the empty input, every
// tail length (1-3 bytes), whole blocks, seeds, and bytes >= 0x80.
const std::vector<HashCase> kPublishedVectors = {
    {"", 0, 0},
    {"", 1, 0x514E28B7},
    {"", 0xffffffff, 0x81F16F39},
    {"\xff\xff\xff\xff", 0, 0x76293B50},
    {"\x21\x43\x65\x87", 0, 0xF55B516B},
    {"\x21\x43\x65\x87", 0x5082EDEE, 0x2362F9DE},
    {"\x21\x43\x65", 0, 0x7E4A8634},
    {"\x21\x43", 0, 0xA0F7B07A},
    {"\x21", 0, 0x72661CF4},
    {std::string("\0\0\0\0", 4), 0, 0x2362F9DE},
    {std::string("\0\0\0", 3), 0, 0x85F0B427},
    {std::string("\0\0", 2), 0, 0x30F4C306},
    {std::string("\0", 1), 0, 0x514E28B7},
    {"aaaa", 0x9747b28c, 0x5A97808A},
    {"aaa", 0x9747b28c, 0x283E0130},
    {"aa", 0x9747b28c, 0x5D211726},
    {"a", 0x9747b28c, 0x7FA09EA6},
    {"abcd", 0x9747b28c, 0xF0478627},
    {"abc", 0x9747b28c, 0xC84A62DD},
    {"ab", 0x9747b28c, 0x74875592},
    {"Hello, world!", 0x9747b28c, 0x24884CBA},
    {"The quick brown fox jumps over the lazy dog", 0x9747b28c, 0x2FA826CD},
    {"\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80\xcf\x80", 0x9747b28c, 0xD58063C1},  // 8 x U+03C0 in UTF-8
    {std::string(256, 'a'), 0x9747b28c, 0x37405BDC},
    {"abc", 0, 0xB3DD93FA},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 0, 0xEE925B90},
    {"test", 0, 0xBA6BD213},
    {"Hello, world!", 0, 0xC0363E43},
    {"The quick brown fox jumps over the lazy dog", 0, 0x2E4FF723},
    {"hello, world", 0, 345750399},
    {"hello, world1", 0, 3714214180},
    {"hello, world12", 0, 83041023},
    {"hello, world123", 0, 209220029},
    {"Hello world", 0, 2911983372},
};

TEST(Murmur3, MatchesPublishedVectors) {
  for (const auto& c : kPublishedVectors) {
    EXPECT_EQ(murmur3_x86_32(c.input, c.seed), c.expected) << "input of " << c.input.size() << " bytes, seed " << c.seed;
  }
}

TEST(Murmur3, TwoPiecesHashLikeTheirConcatenation) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    EXPECT_EQ(murmur3_x86_32(text.substr(0, cut), text.substr(cut), 0x9747b28c), 0x2FA826CDu) << "cut at " << cut;
  }
}

TEST(SplitBucket, IsMurmurOfFlagColonValueModTenThousand) {
  // Golden buckets, computed by a separate MurmurHash3 written in Python from the algorithm's
  // description. Changing them moves users between the variants of every running split.
  struct Case {
    const char* flag;
    const char* value;
    std::uint32_t bucket;
  };
  for (const Case& c : {Case{"new-checkout", "user-123", 5887}, Case{"new-checkout", "user-abc", 4355},
                        Case{"enable-new-dashboard", "user-123", 4160}, Case{"checkout-theme", "42", 6317},
                        Case{"a", "b", 2131}, Case{"beta", "jos\xc3\xa9", 4073}}) {
    EXPECT_EQ(split_bucket(c.flag, c.value), c.bucket) << c.flag << " " << c.value;
    EXPECT_EQ(split_bucket(c.flag, c.value), murmur3_x86_32(std::string(c.flag) + ":" + c.value) % 10'000);
  }
  EXPECT_EQ(split_bucket({}, {}), murmur3_x86_32(":") % 10'000);  // empty views, no data pointer
}

TEST(SplitBucket, InRangeAndRoughlyUniform) {
  std::array<int, 100> per_percent{};
  for (int i = 0; i < 100'000; ++i) {
    const std::uint32_t b = split_bucket("some-flag", "user-" + std::to_string(i));
    ASSERT_LT(b, kSplitBuckets);
    ++per_percent[b / 100];
  }
  for (int count : per_percent) {  // ~1,000 each; 6 standard deviations either side
    EXPECT_GT(count, 800);
    EXPECT_LT(count, 1200);
  }
}

TEST(LegacyBucket, VectorsUnchanged) {
  EXPECT_EQ(bucket("user-123", "enable-new-dashboard"), 25);
  EXPECT_EQ(bucket("user-abc", "enable-new-dashboard"), 71);
}

}  // namespace
