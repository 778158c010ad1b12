// The hash behind percentage splits: MurmurHash3 x86_32 (Austin Appleby's public-domain
// algorithm, the one flagd and Unleash use for rollouts), and the split bucket built on it.
//
// The legacy PERCENTAGE rule keeps its own SHA-1 bucket (rules.hpp, bucket()); nothing here
// changes it.
#pragma once

#include <cstdint>
#include <string_view>

namespace toggle::rules {

// Buckets of a split: 0..9,999, one per basis point (0.01 %).
inline constexpr std::uint32_t kSplitBuckets = 10'000;

// MurmurHash3_x86_32 of `data` with `seed`, as the reference implementation computes it (blocks
// read little-endian whatever the host's byte order). murmur3_x86_32("", 1) == 0x514E28B7.
std::uint32_t murmur3_x86_32(std::string_view data, std::uint32_t seed = 0) noexcept;

// The same hash over the concatenation of `first` and `second`, without building it.
std::uint32_t murmur3_x86_32(std::string_view first, std::string_view second, std::uint32_t seed = 0) noexcept;

// The split bucket of `value` (e.g. a targetingKey) in flag `flag_name`:
//   murmur3_x86_32(flag_name + ":" + value, seed 0) % 10,000.
// Salting with the flag name makes two flags' buckets independent; ':' cannot occur in a flag
// name, so no two (flag, value) pairs hash the same bytes. Does not allocate.
std::uint32_t split_bucket(std::string_view flag_name, std::string_view value) noexcept;

}  // namespace toggle::rules
