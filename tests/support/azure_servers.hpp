// Real servers for the Azure client tests, started and stopped by the scripts in tests/support:
// azurite.sh (Table API), rabbitmq.sh (AMQP 1.0, the development-emulator mode),
// servicebus_standin.sh (the project's Service Bus stand-in: TLS, CBS, peek-lock, dead letters).
//
//   testsupport::ScriptedServer standin("servicebus_standin.sh", {"--max-delivery-count", "3"});
//   auto cs = standin.read("connection-string");        // files the script wrote in its state dir
//
//   const std::string& cs = testsupport::shared_server("azurite.sh", "TOGGLE_TEST_AZURITE_STATE");
//
// A shared server is the one a ctest fixture started (its state directory in the environment
// variable), or, for a test binary run by hand, one started on first use and stopped at exit.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef TOGGLE_TEST_SUPPORT_DIR
#error "TOGGLE_TEST_SUPPORT_DIR must name tests/support"
#endif

namespace testsupport {

inline std::string quote_for_shell(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

inline std::string read_trimmed(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// A server of one's own in a new temporary state directory, for the lifetime of the object.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::string script, const std::vector<std::string>& args = {})
      : script_(std::string(TOGGLE_TEST_SUPPORT_DIR) + "/" + std::move(script)) {
    std::string pattern = (std::filesystem::temp_directory_path() / "togglemaster-azure-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    state_ = pattern;
    std::string extra;
    for (const auto& a : args) extra += " " + quote_for_shell(a);
    try {
      run("start", extra);
    } catch (...) {
      std::filesystem::remove_all(state_);
      throw;
    }
  }
  ~ScriptedServer() {
    try {
      run("stop");
    } catch (...) {
    }
    std::error_code ignored;
    std::filesystem::remove_all(state_, ignored);
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  // Runs `script COMMAND STATE` (e.g. "restart" for the stand-in).
  void run(const std::string& command, const std::string& extra = "") {
    // A server left behind by a test that was killed stops by itself after half an hour.
    std::string line = "MAX_SECONDS=${MAX_SECONDS:-1800} " + quote_for_shell(script_) + " " + command + " " +
                       quote_for_shell(state_) + extra + " >&2";
    if (std::system(line.c_str()) != 0) throw std::runtime_error(script_ + " " + command + " failed");
  }
  std::string path(const std::string& file) const { return state_ + "/" + file; }
  std::string read(const std::string& file) const { return read_trimmed(path(file)); }

 private:
  std::string script_, state_;
};

// The connection string of the run's shared server started by `script` (see the top).
inline std::string shared_server(const std::string& script, const char* state_env) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<ScriptedServer>> own;
  std::lock_guard lock(mutex);
  if (const char* state = std::getenv(state_env); state && *state) {
    std::string cs = read_trimmed(std::string(state) + "/connection-string");
    if (cs.empty())
      throw std::runtime_error(std::string("no ") + script + " server: " + state + "/connection-string is missing");
    return cs;
  }
  auto& server = own[script];
  if (!server) {
    server = std::make_unique<ScriptedServer>(script);
    std::atexit([] { own.clear(); });
  }
  return server->read("connection-string");
}

}  // namespace testsupport
