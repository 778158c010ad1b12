// MurmurHash3 x86_32, written from the algorithm's description (smhasher's MurmurHash3.cpp),
// streaming so that a salted value is hashed without concatenating it first.
#include "toggle/rules/hash.hpp"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace toggle::rules {
namespace {

constexpr std::uint32_t kC1 = 0xcc9e2d51;
constexpr std::uint32_t kC2 = 0x1b873593;

constexpr std::uint32_t rotl32(std::uint32_t x, int r) noexcept { return (x << r) | (x >> (32 - r)); }

constexpr std::uint32_t scramble(std::uint32_t k) noexcept { return rotl32(k * kC1, 15) * kC2; }

std::uint32_t read_little_endian_u32(const unsigned char* p) noexcept {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) | (std::uint32_t{p[3]} << 24);
}

// Feeds bytes in any number of pieces; only whole 4-byte blocks go through the block step, the
// last 1-3 bytes through the tail step, exactly as if the pieces were one buffer.
class Murmur3 {
 public:
  explicit Murmur3(std::uint32_t seed) noexcept : h_(seed) {}

  void update(std::string_view piece) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(piece.data());
    std::size_t n = piece.size();
    length_ += n;
    if (pending_ > 0) {  // complete the block that the previous piece started
      const std::size_t take = std::min(n, 4 - pending_);
      if (take > 0) std::memcpy(block_ + pending_, p, take);
      pending_ += take;
      p += take;
      n -= take;
      if (pending_ < 4) return;
      mix(read_little_endian_u32(block_));
      pending_ = 0;
    }
    for (; n >= 4; p += 4, n -= 4) mix(read_little_endian_u32(p));
    if (n > 0) std::memcpy(block_, p, n);  // 0-3 bytes wait for the next piece or finish()
    pending_ = n;
  }

  std::uint32_t finish() noexcept {
    std::uint32_t k = 0;
    switch (pending_) {  // the tail, as in the reference: bytes in little-endian order
      case 3: k ^= std::uint32_t{block_[2]} << 16; [[fallthrough]];
      case 2: k ^= std::uint32_t{block_[1]} << 8; [[fallthrough]];
      case 1: k ^= block_[0]; h_ ^= scramble(k);
    }
    h_ ^= static_cast<std::uint32_t>(length_);
    h_ ^= h_ >> 16;
    h_ *= 0x85ebca6b;
    h_ ^= h_ >> 13;
    h_ *= 0xc2b2ae35;
    h_ ^= h_ >> 16;
    return h_;
  }

 private:
  void mix(std::uint32_t k) noexcept {
    h_ ^= scramble(k);
    h_ = rotl32(h_, 13) * 5 + 0xe6546b64;
  }

  std::uint32_t h_;
  std::size_t length_ = 0;
  unsigned char block_[4] = {};
  std::size_t pending_ = 0;
};

}  // namespace

std::uint32_t murmur3_x86_32(std::string_view data, std::uint32_t seed) noexcept {
  Murmur3 h(seed);
  h.update(data);
  return h.finish();
}

std::uint32_t murmur3_x86_32(std::string_view first, std::string_view second, std::uint32_t seed) noexcept {
  Murmur3 h(seed);
  h.update(first);
  h.update(second);
  return h.finish();
}

std::uint32_t split_bucket(std::string_view flag_name, std::string_view value) noexcept {
  Murmur3 h(0);
  h.update(flag_name);
  h.update(":");
  h.update(value);
  return h.finish() % kSplitBuckets;
}

}  // namespace toggle::rules
