// The five services as separate processes, the way `make run` starts them, each on a free
// loopback port with its data in a fresh temporary directory. Tests can stop, kill and restart
// any of them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "eventually.hpp"
#include "toggle/core/client.hpp"

namespace e2e {

inline constexpr const char* kServiceKey = "tm_key_service_internal_dev";
inline constexpr const char* kMasterKey = "master-key-local-dev";

class Platform {
 public:
  // `extra_env`: settings added to every service (e.g. short timeouts).
  explicit Platform(std::map<std::string, std::string> extra_env = {});
  ~Platform();  // SIGTERM to all, then removes the data directory

  static const std::vector<std::string>& services();
  // Another instance of `service` named `name` (e.g. "evaluation-service-2"), with its own port
  // and data folder; start() it like the others.
  void add_replica(const std::string& service, const std::string& name);
  // A setting for one service or replica only (e.g. its DATABASE_URL).
  void set_env(const std::string& service, const std::string& key, const std::string& value);
  void start(const std::string& service);  // and wait until /health answers
  // Starts `service` and waits for it to exit by itself (a refused configuration): its exit
  // status, or -1 if it was still running after `limit` (it is then killed).
  int run_to_exit(const std::string& service, std::chrono::milliseconds limit = std::chrono::seconds(15));
  void start_all();
  void stop_all();
  // SIGTERM and wait for exit; returns the exit status (or -signal).
  int stop(const std::string& service);
  void kill(const std::string& service);  // SIGKILL, no cleanup
  bool running(const std::string& service);

  std::string url(const std::string& service) const;
  int port(const std::string& service) const { return ports_.at(service); }
  const std::string& data_dir() const { return data_dir_; }
  std::string log_tail(const std::string& service, std::size_t lines = 30) const;

  // HTTP helpers; `key` empty sends no Authorization header.
  toggle::ClientResponse get(const std::string& service, const std::string& path, const std::string& key = kServiceKey);
  toggle::ClientResponse send(const std::string& method, const std::string& service, const std::string& path,
                              const std::string& body, const std::string& key = kServiceKey);

 private:
  std::map<std::string, std::string> env_for(const std::string& service) const;
  pid_t spawn(const std::string& service);
  std::string data_dir_;
  std::map<std::string, int> ports_;
  std::map<std::string, std::string> binary_;  // replica name -> service
  std::map<std::string, pid_t> pids_;
  std::map<std::string, std::string> extra_env_;
  std::map<std::string, std::map<std::string, std::string>> service_env_;
  toggle::HttpClient client_;
};

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_port();
// A socket connected to 127.0.0.1:`port`, or -1 if nothing accepts there. The caller closes it.
int connect_loopback(int port);

// A real redis-server (Debian's package) on a free loopback port, in a temporary folder, for the
// test's lifetime; stop() and start() keep the port.
class RedisServer {
 public:
  // `extra_args` go to redis-server as they are; `tls`: it listens with TLS only (the args must
  // name its certificate and key) and url() is rediss://localhost:<port>.
  explicit RedisServer(std::vector<std::string> extra_args = {}, bool tls = false);
  ~RedisServer();
  void start();
  void stop();
  std::string url() const {
    return tls_ ? "rediss://localhost:" + std::to_string(port_) : "redis://127.0.0.1:" + std::to_string(port_);
  }
  int port() const { return port_; }

 private:
  int port_;
  std::string dir_;
  pid_t pid_ = 0;
  std::vector<std::string> extra_args_;
  bool tls_;
};

// Runs `argv` with `env` added to this process's environment; returns its exit status (-1 if it
// did not exit normally), and its output (stdout and stderr) in `output`.
int run_command(const std::map<std::string, std::string>& env, const std::vector<std::string>& argv,
                std::string* output = nullptr);

// --- The cloud event pipeline (CLOUD_PROVIDER=aws|azure), shared by tests/pipeline/e2e_*_test.cpp ---

// Runs scripts/init-cloud.sh `provider` with the services' settings `env`; returns its exit
// status, and its output (stdout and stderr) in `output`.
int init_cloud(const std::string& provider, const std::map<std::string, std::string>& env,
               std::string* output = nullptr);
// The value of metric `name` in `service`'s /metrics; -1 when it has none.
double metric(Platform& platform, const std::string& service, const std::string& name);
// POST /flags (enabled), then waits until evaluation-service is ready; false if either failed.
bool create_flag(Platform& platform, const std::string& name);
// GET /evaluate of `flag` for users `prefix`0 .. `prefix`(n-1): how many were served (200).
int evaluate_users(Platform& platform, const std::string& flag, const std::string& prefix, int n);
// The flag's total in analytics' /summary; -1 when it does not answer 200.
std::int64_t stored_events(Platform& platform, const std::string& flag,
                           const std::string& analytics = "analytics-service");
// The pipeline's promise: waits (up to `limit`) until `served` events of `flag` are stored, then
// checks each was stored exactly once (/summary's total, /events, distinct event ids and users
// all equal `served`). "" when so, else what differs.
std::string each_stored_once(Platform& platform, const std::string& flag, int served,
                             const std::string& analytics = "analytics-service",
                             std::chrono::milliseconds limit = std::chrono::seconds(120));
// The last log lines of `services`, for a failed test's output.
std::string log_tails(const Platform& platform, const std::vector<std::string>& services);

// The one eventually() of every test tier (tests/support/eventually.hpp).
using testsupport::eventually;

}  // namespace e2e
