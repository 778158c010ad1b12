// A small Redis client: the few commands evaluation-service's shared cache needs, with short
// timeouts and reconnection, so that Redis being slow or down costs a failed call, never a stuck
// thread. Its own socket (TLS through OpenSSL for rediss://, ACL users, bounded replies); hiredis
// only formats commands and parses replies. Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace toggle {

struct RedisAddress {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  // a Redis 6 ACL user; empty: the default user
  std::string password;
  int db = 0;
  bool tls = false;      // rediss://: TLS, the server's certificate checked against `ca_file` or the system's CAs
  std::string ca_file;   // REDIS_TLS_CA_FILE
  // "host:port/db" with the scheme, without credentials: what may be logged.
  std::string describe() const;
};
// redis://[[user]:password@]host[:port][/db] or rediss://…; nullopt if malformed.
std::optional<RedisAddress> parse_redis_url(const std::string& url);

// The largest reply read from Redis (a stored state, a message): a larger one is refused and the
// connection dropped, so that a value written to Redis cannot exhaust a replica's memory.
inline constexpr std::size_t kMaxRedisReplyBytes = 64 << 20;

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
