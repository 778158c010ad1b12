// Redis, when REDIS_URL is set: what evaluation replicas share.
//  - The latest state of each feed (flags, rules, segments) is stored, so a new replica warms from
//    it and can answer before flag- and targeting-service do (or while they are down).
//  - Every change a replica receives is published to the others, which apply it if it moves them
//    forward (FeedFollower::accept), alongside their own change-feed polls.
// Redis being slow or down never touches the request path: all of it runs on two background
// threads, failures are logged and retried, and replicas keep answering from memory.
//
// Redis is not trusted: whoever can write to it must not be able to crash a replica or change an
// evaluation. Every stored state and message is sealed with an HMAC-SHA-256 under a key derived
// from SERVICE_API_KEY (which the replicas share and Redis never sees) and bound to where it was
// written (the key or channel), replies are bounded in size (RedisClient), nesting is checked
// before parsing, and a state must have a feed reply's shape. Anything else is logged, counted
// (redis_entries_rejected_total) and ignored: the replica follows the change feeds as without Redis.
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

  SharedCache(RedisAddress address, const std::string& service_key, std::string prefix = "togglemaster:evaluation");
  ~SharedCache();

  // The stored full state of `feed` ("flags", "rules" or "segments"), if Redis has one and answers.
  std::optional<nlohmann::json> load(const std::string& feed);
  // Starts the background threads; `exports` gives each feed's current state.
  void start(std::map<std::string, Export> exports, OnChange on_change);
  // A replica accepted `reply` on `feed`: store the new state and tell the others.
  void share(const std::string& feed, const FeedPosition& base, const nlohmann::json& reply);
  bool reachable() const { return reachable_.load(); }
  void stop();

  // How entries are sealed and opened (public for fuzz/redis_entry_fuzz.cpp).
  // "<hmac> <text>", the HMAC over `where` and the text, under `signing_key`.
  static std::string seal(const std::string& signing_key, const std::string& where, const std::string& text);
  // The JSON of a sealed entry read from `where`, or nullopt (logged and counted) if it is not one.
  static std::optional<nlohmann::json> open(const std::string& signing_key, const std::string& where,
                                            const std::string& sealed);
  // What a stored state or a message's reply must look like before a FeedFollower sees it.
  static bool has_feed_reply_shape(const nlohmann::json& reply);
  // A change another replica published: {"origin", "feed", "base": {"epoch", "version"}, "reply"}.
  // Throws std::exception if `message` is not one.
  struct Change {
    std::string origin, feed;
    FeedPosition base;
    nlohmann::json reply;
  };
  static Change read_change(const nlohmann::json& message);

 private:
  void write_loop();
  void subscribe_loop();
  void note(bool ok, const std::string& what);

  RedisAddress address_;
  std::string signing_key_, prefix_, origin_;
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
