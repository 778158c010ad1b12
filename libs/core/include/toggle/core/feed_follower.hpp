// Follows one service's change feed (GET /changes, a long poll) on its own thread and hands each
// reply to `apply`. On failure it retries with backoff and, once the feed answers again, resumes
// from the last version it saw (or resyncs in full when the service says so). A source whose
// history went back (its database restored from a backup) is followed back: the source is the truth.
//
// Replies may also arrive from elsewhere (other replicas through Redis, or Redis' stored state at
// start): accept() applies one only if it moves this follower forward, so replies can come in
// any order from any source without ever undoing a newer state.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>

namespace toggle {

struct FeedOptions {
  std::string service;   // for logs: "flag-service"
  std::string base_url;  // e.g. http://localhost:8002
  std::string api_key;
  std::chrono::milliseconds wait{25000};          // how long the service may hold a poll
  std::chrono::milliseconds full_resync{300000};  // safety net: resync in full this often
};

// Where a follower stands in a feed's history.
struct FeedPosition {
  std::string epoch;
  std::int64_t version = 0;
};

class FeedFollower {
 public:
  // `on_accepted(base, reply)` runs after a reply of this follower's own polls was applied (e.g. to
  // share it); `base` is the position the reply was computed from.
  FeedFollower(FeedOptions options, std::function<void(const nlohmann::json&)> apply,
               std::function<void(const FeedPosition& base, const nlohmann::json& reply)> on_accepted = {});
  ~FeedFollower();
  void start();
  void stop();
  bool connected() const { return connected_.load(); }
  FeedPosition position() const;

  // Applies `reply` (computed from `base`) if it moves this follower forward: a full reply newer
  // than what it has (or of another epoch), or a delta that starts at or before its version and
  // ends after it, in the same epoch. Returns whether it was applied. For replies from elsewhere
  // (another replica, a stored state): on_accepted does not run for them.
  bool accept(const FeedPosition& base, const nlohmann::json& reply);

 private:
  void run();
  void pause(std::chrono::milliseconds d);
  bool behind(const nlohmann::json& reply) const;  // a full state of our epoch, older than ours
  void resync(const nlohmann::json& reply);        // takes it all the same

  FeedOptions opt_;
  std::function<void(const nlohmann::json&)> apply_;
  std::function<void(const FeedPosition&, const nlohmann::json&)> on_accepted_;
  std::atomic<bool> stopping_{false}, connected_{false};
  mutable std::mutex mutex_;  // guards position_ and serialises apply_
  FeedPosition position_;
  std::condition_variable wake_;
  std::mutex wake_mutex_;
  std::thread thread_;
};

}  // namespace toggle
