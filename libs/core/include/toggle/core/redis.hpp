// A small Redis client (hiredis): the few commands evaluation-service's shared cache needs, with
// short timeouts and reconnection, so that Redis being slow or down costs a failed call, never a
// stuck thread. Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace toggle {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
};
// redis://[:password@]host[:port][/db]; nullopt if malformed.
std::optional<RedisAddress> parse_redis_url(const std::string& url);

class RedisClient {
 public:
  explicit RedisClient(RedisAddress address, std::chrono::milliseconds timeout = std::chrono::milliseconds(500));
  ~RedisClient();

  // nullopt on a missing key; throws std::runtime_error when Redis cannot be reached.
  std::optional<std::string> get(const std::string& key);
  void set(const std::string& key, const std::string& value);
  void publish(const std::string& channel, const std::string& message);
  bool ping() noexcept;
  // Subscribes and calls `on_message` for each message until `stop()` returns true (checked at
  // least every `timeout`); returns on a connection error (throws) so the caller can reconnect.
  void subscribe(const std::string& channel, const std::function<void(const std::string&)>& on_message,
                 const std::function<bool()>& stop);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toggle
