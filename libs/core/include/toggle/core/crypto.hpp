// OpenSSL-backed helpers: hashing, CSPRNG bytes, constant-time comparison, event ids.
#pragma once

#include <string>
#include <string_view>

namespace toggle::crypto {

std::string sha256_hex(std::string_view data);  // lowercase hex, 64 characters
std::string random_hex(std::size_t bytes);      // from OpenSSL's CSPRNG (RAND_bytes)
// HMAC-SHA-256 of `data` under `key`, lowercase hex (64 characters).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Compares secrets without leaking, through timing, where they differ or how long they are.
bool constant_time_equal(std::string_view a, std::string_view b);
// A random (version 4) UUID. Fast enough for the evaluation hot path: a per-thread generator
// seeded from the CSPRNG (ids must be unique, not unpredictable).
std::string uuid_v4();
// A time-ordered (version 7, RFC 9562) UUID: milliseconds since 1970, then random bits. Ids made
// close in time sort close together, so storing them appends to an index instead of scattering
// writes across it.
std::string uuid_v7();

}  // namespace toggle::crypto
