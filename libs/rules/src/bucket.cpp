// bucket(): the original service's deterministic bucketing, on OpenSSL's SHA-1.
#include <openssl/sha.h>

#include <cstdint>

#include "toggle/rules/rules.hpp"

namespace toggle::rules {
namespace {

std::uint32_t read_big_endian_u32(const unsigned char* bytes) noexcept {
  return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) | (std::uint32_t{bytes[2]} << 8) |
         std::uint32_t{bytes[3]};
}

}  // namespace

// Why the deprecated low-level SHA1_Init/Update/Final and not EVP: measured on OpenSSL 3.0
// (g++ -O2, SHA-NI CPU, 10-30 byte inputs), per digest:
//   SHA1() one-shot / EVP_Digest(EVP_sha1())           ~315 ns, 3 heap allocations (fetch + ctx)
//   EVP_MD fetched once + thread_local EVP_MD_CTX       ~85-90 ns, 1 heap allocation (every
//     EVP_DigestInit_ex/_ex2 or EVP_MD_CTX_copy_ex frees and recreates the provider context)
//   SHA1_Init/Update/Final on a stack SHA_CTX            ~53 ns, no allocation
// The low-level API is deprecated in 3.0 but still shipped and still dispatches to the same
// assembly (SHA-NI/AVX2). SHA-1 here is a bucketing function fixed by the original service, not
// a security primitive. Hashing the two parts with two Update calls avoids concatenating them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
int bucket(std::string_view user_id, std::string_view flag_name) noexcept {
  SHA_CTX ctx;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1_Init(&ctx);
  SHA1_Update(&ctx, user_id.data(), user_id.size());
  SHA1_Update(&ctx, flag_name.data(), flag_name.size());
  SHA1_Final(digest, &ctx);
  return static_cast<int>(read_big_endian_u32(digest) % 100);
}
#pragma GCC diagnostic pop

}  // namespace toggle::rules
