// What every fuzz target shares (fuzz/CMakeLists.txt, docs/fuzzing.md): the input as text, logs
// quietened (a rejected input is logged as a warning; at thousands of inputs a second that is
// noise), and a property check that stops the run the way a sanitizer finding does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "toggle/core/log.hpp"

namespace fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline void quiet_logs() { toggle::log::init("fuzz", toggle::log::Level::error); }

// A property every input must keep (a round trip, an invariant): libFuzzer reports the input.
inline void require(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "fuzz: property broken: %s\n", property);
  std::abort();
}

}  // namespace fuzz
