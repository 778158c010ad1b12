// Follows one service's change feed (GET /changes, a long poll) on its own thread and hands each
// reply to `apply`. On failure it retries with backoff and, once the feed answers again, resumes
// from the last version it saw (or resyncs in full when the service says so).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>

namespace toggle::evaluation {

struct FeedOptions {
  std::string service;   // for logs: "flag-service"
  std::string base_url;  // e.g. http://localhost:8002
  std::string api_key;
  std::chrono::milliseconds wait{25000};          // how long the service may hold a poll
  std::chrono::milliseconds full_resync{300000};  // safety net: resync in full this often
};

class FeedFollower {
 public:
  FeedFollower(FeedOptions options, std::function<void(const nlohmann::json&)> apply);
  ~FeedFollower();
  void start();
  void stop();
  bool connected() const { return connected_.load(); }

 private:
  void run();
  void pause(std::chrono::milliseconds d);

  FeedOptions opt_;
  std::function<void(const nlohmann::json&)> apply_;
  std::atomic<bool> stopping_{false}, connected_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace toggle::evaluation
