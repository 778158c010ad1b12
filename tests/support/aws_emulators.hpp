// The AWS stand-ins for the tests (tests/support/aws-emulators.sh): local-aws-sqs, dynalite, and
// the SigV4 checker that forwards correctly signed requests to them.
//
//   const auto& aws = testsupport::aws_emulators();
//   aws.sqs, aws.dynamodb, aws.sigv4    // base URLs on 127.0.0.1
//
// They are the ones the ctest fixture `aws_emulators` started (its state directory is in
// TOGGLE_TEST_AWS_STATE); a test binary run by hand, without it, starts its own on first use and
// stops them at exit. Every test uses queue and table names of its own (unique_name()), so tests
// share them safely, also in parallel.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>

#ifndef TOGGLE_AWS_EMULATORS_SCRIPT
#error "TOGGLE_AWS_EMULATORS_SCRIPT must name tests/support/aws-emulators.sh"
#endif

namespace testsupport {

// The key pair the SigV4 checker accepts (aws-emulators.mjs's default: AWS's documentation example).
inline constexpr const char* kTestAccessKeyId = "AKIDEXAMPLE";
inline constexpr const char* kTestSecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct AwsEmulators {
  std::string sqs, dynamodb, sigv4;
};

namespace detail {

inline AwsEmulators read_endpoints(const std::string& state) {
  std::ifstream in(state + "/endpoints.json");
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (!j.is_object() || !j.contains("sqs") || !j.contains("dynamodb") || !j.contains("sigv4"))
    throw std::runtime_error("no AWS emulators: " + state + "/endpoints.json is missing or incomplete");
  return {j["sqs"].get<std::string>(), j["dynamodb"].get<std::string>(), j["sigv4"].get<std::string>()};
}

inline void run_emulators_script(const std::string& command, const std::string& state) {
  std::string line = std::string(TOGGLE_AWS_EMULATORS_SCRIPT) + " " + command + " '" + state + "' >/dev/null";
  if (std::system(line.c_str()) != 0) throw std::runtime_error("tests/support/aws-emulators.sh " + command + " failed");
}

}  // namespace detail

inline const AwsEmulators& aws_emulators() {
  static std::once_flag once;
  static AwsEmulators endpoints;
  static std::string own_state;
  std::call_once(once, [] {
    if (const char* state = std::getenv("TOGGLE_TEST_AWS_STATE"); state && *state) {
      endpoints = detail::read_endpoints(state);
      return;
    }
    std::string pattern = (std::filesystem::temp_directory_path() / "togglemaster-aws-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    own_state = pattern;
    detail::run_emulators_script("start", own_state);
    endpoints = detail::read_endpoints(own_state);
    std::atexit([] {
      try {
        detail::run_emulators_script("stop", own_state);
      } catch (...) {
      }
      std::error_code ignored;
      std::filesystem::remove_all(own_state, ignored);
    });
  });
  return endpoints;
}

// A name no other test uses: `prefix` + process id + counter + random digits (queue and table
// names allow letters, digits, '-' and '_').
inline std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::random_device random;
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(random() % 100000);
}

}  // namespace testsupport
