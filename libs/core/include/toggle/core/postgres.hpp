// PostgreSQL specifics beyond sql::Database (which postgres.cpp implements with libpq): a LISTEN
// connection for notifications that other processes send with pg_notify() / NOTIFY.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace toggle::sql {

// Listens on `channel` over a dedicated connection (not one of the pool's), in its own thread.
// `on_connected` runs each time LISTEN is in place (at start and after every reconnection), so
// the owner can catch up on what it may have missed while disconnected; if it throws, the
// connection is dropped and opened again. `on_notify` runs for each notification, with its payload.
// A lost connection is reopened with a backoff from 100 ms to 5 s, until the Listener is destroyed.
class Listener {
 public:
  struct Handlers {
    std::function<void(const std::string& payload)> on_notify;
    std::function<void()> on_connected;
  };
  Listener(std::string url, std::string channel, Handlers handlers);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Whether LISTEN is in place now.
  bool connected() const { return connected_; }
  // Connections opened so far (the first one and the reconnections).
  int connections() const { return connections_; }

 private:
  void run();

  std::string url_, channel_;
  Handlers handlers_;
  int wake_fd_ = -1;  // eventfd: the destructor wakes a thread waiting on the socket
  std::atomic<bool> stopping_{false}, connected_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace toggle::sql
