#include "spool_file.hpp"

#include <cstdio>
#include <string_view>

#include "toggle/core/crypto.hpp"

namespace toggle::evaluation {
namespace {
constexpr std::string_view kSpoolMagic = "toggle-spool 1 ";

}  // namespace

std::string spool_file_text(const std::string& batch, std::size_t events) {
  std::string text(kSpoolMagic);
  text += std::to_string(events) + " " + std::to_string(batch.size()) + " " + crypto::sha256_hex(batch) + "\n";
  return text + batch;
}

SpoolFile read_spool_file(const std::string& text) {
  SpoolFile file;
  if (text.compare(0, kSpoolMagic.size(), kSpoolMagic) != 0) {
    // A bare JSON array, as earlier versions wrote; parse_event_batch() judges it.
    if (text.empty()) file.problem = "empty file";
    file.batch = text;
    return file;
  }
  auto newline = text.find('\n');
  unsigned long long events = 0, bytes = 0;
  char digest[65] = {};
  if (newline == std::string::npos ||
      std::sscanf(text.c_str() + kSpoolMagic.size(), "%llu %llu %64s", &events, &bytes, digest) != 3) {
    file.problem = "torn header";
    return file;
  }
  file.events = static_cast<std::size_t>(events);
  file.batch = text.substr(newline + 1);
  if (file.batch.size() != bytes)
    file.problem = "torn batch: " + std::to_string(file.batch.size()) + " of " + std::to_string(bytes) + " bytes";
  else if (crypto::sha256_hex(file.batch) != digest)
    file.problem = "checksum mismatch";
  return file;
}

}  // namespace toggle::evaluation
