// Redis, when REDIS_URL is set: what evaluation replicas share.
//  - The latest state of each feed (flags, rules, segments) is stored, so a new replica warms from
//    it and can answer before flag- and targeting-service do (or while they are down).
//  - Every change a replica receives is published to the others, which apply it if it moves them
//    forward (FeedFollower::accept), alongside their own change-feed polls.
// Redis being slow or down never touches the request path: all of it runs on two background
// threads, failures are logged and retried, and replicas keep answering from memory.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "toggle/core/feed_follower.hpp"
#include "toggle/core/redis.hpp"

namespace toggle::evaluation {

class SharedCache {
 public:
  using Export = std::function<nlohmann::json()>;  // the feed's full state, as a full reply
  using OnChange = std::function<void(const std::string& feed, const FeedPosition& base, const nlohmann::json& reply)>;

  SharedCache(RedisAddress address, std::string prefix = "togglemaster:evaluation");
  ~SharedCache();

  // The stored full state of `feed` ("flags", "rules" or "segments"), if Redis has one and answers.
  std::optional<nlohmann::json> load(const std::string& feed);
  // Starts the background threads; `exports` gives each feed's current state.
  void start(std::map<std::string, Export> exports, OnChange on_change);
  // A replica accepted `reply` on `feed`: store the new state and tell the others.
  void share(const std::string& feed, const FeedPosition& base, const nlohmann::json& reply);
  bool reachable() const { return reachable_.load(); }
  void stop();

 private:
  void write_loop();
  void subscribe_loop();
  void note(bool ok, const std::string& what);

  RedisAddress address_;
  std::string prefix_, origin_;
  std::map<std::string, Export> exports_;
  OnChange on_change_;
  std::atomic<bool> stopping_{false}, reachable_{true};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::string> outbox_;    // messages to publish
  std::map<std::string, bool> dirty_;  // feeds whose state must be stored again
  std::thread writer_, subscriber_;
};

}  // namespace toggle::evaluation
