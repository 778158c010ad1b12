#include "toggle/core/feed_follower.hpp"

#include <stdexcept>

#include "toggle/core/client.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle {

FeedFollower::FeedFollower(FeedOptions options, std::function<void(const json&)> apply,
                           std::function<void(const FeedPosition&, const json&)> on_accepted)
    : opt_(std::move(options)), apply_(std::move(apply)), on_accepted_(std::move(on_accepted)) {}

FeedFollower::~FeedFollower() { stop(); }

void FeedFollower::start() {
  thread_ = std::thread([this] { run(); });
}

void FeedFollower::stop() {
  stopping_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

FeedPosition FeedFollower::position() const {
  std::lock_guard lock(mutex_);
  return position_;
}

void FeedFollower::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(wake_mutex_);
  wake_.wait_for(lock, d, [this] { return stopping_.load(); });
}

namespace {

// The position a reply brings its reader to. Throws std::exception unless `version` is a
// non-negative integer: a float such as 6.7e61 converted to an integer is undefined behaviour
// (found by fuzz/feed_fuzz.cpp).
FeedPosition position_of(const json& reply) {
  const json& version = reply.at("version");
  if (!version.is_number_integer() || version.get<std::int64_t>() < 0)
    throw std::invalid_argument("version must be a non-negative integer");
  return {reply.at("epoch").get<std::string>(), version.get<std::int64_t>()};
}

}  // namespace

bool FeedFollower::accept(const FeedPosition& base, const json& reply) {
  FeedPosition next = position_of(reply);
  bool full = reply.at("full").get<bool>();
  {
    std::lock_guard lock(mutex_);
    const auto& at = position_;
    bool forward = full ? (next.epoch != at.epoch || next.version >= at.version || at.version == 0)
                        : (next.epoch == at.epoch && base.epoch == at.epoch && base.version <= at.version &&
                           next.version >= at.version);
    if (!forward) return false;
    apply_(reply);  // a reply's rows are their state as of its reading: applying it never goes back
    position_ = next;
  }
  return true;
}

bool FeedFollower::behind(const json& reply) const {
  std::lock_guard lock(mutex_);
  FeedPosition at = position_of(reply);
  return at.epoch == position_.epoch && at.version < position_.version;
}

void FeedFollower::resync(const json& reply) {
  FeedPosition at = position_of(reply);  // before applying: a reply without one changes nothing
  std::lock_guard lock(mutex_);
  apply_(reply);
  position_ = at;
}

void FeedFollower::run() {
  HttpClient client;
  auto backoff = std::chrono::milliseconds(100);
  auto last_full = std::chrono::steady_clock::now();
  auto last_complaint = std::chrono::steady_clock::time_point{};
  bool source_behind = false;  // the last reply was a full state older than ours
  while (!stopping_) {
    FeedPosition base = position();
    // A follower that has no state yet (no epoch) or whose safety-net resync is due asks for the
    // full set at once; any other poll is parked by the feed until something changes, also on a
    // feed that has never had a write (version 0): an idle platform makes no requests.
    bool need_full = base.epoch.empty() || std::chrono::steady_clock::now() - last_full > opt_.full_resync;
    if (need_full) base.version = 0;
    std::string url = opt_.base_url + "/changes?since=" + std::to_string(base.version) + "&epoch=" + base.epoch +
                      "&wait_ms=" + std::to_string(need_full ? 0 : opt_.wait.count());
    auto res = client.send({"GET",
                            url,
                            {{"Authorization", "Bearer " + opt_.api_key}},
                            "",
                            opt_.wait + std::chrono::seconds(5),
                            &stopping_});
    if (stopping_) break;
    std::string problem;
    if (res.status == 200) {
      try {
        json reply = json::parse(res.body);
        // Only this follower's own replies are passed on: one from another replica passed on
        // again would echo between the replicas forever.
        bool full = reply.at("full").get<bool>();
        if (accept(base, reply)) {
          if (on_accepted_) on_accepted_(base, reply);
          source_behind = false;
        } else if (full && behind(reply)) {
          // The source answers with a state older than ours in the same history: its database was
          // restored from a backup or lost its last commits. The source is the truth: once it
          // says so twice in a row, a moment apart (a reply that merely raced a newer one from
          // another replica is not a restore), take its state.
          if (source_behind) {
            log::warn("change feed source went back in its history: resynced to its state",
                      {{"source", opt_.service}, {"version", reply.at("version").get<std::int64_t>()},
                       {"was", position().version}});
            resync(reply);
            source_behind = false;
          } else {
            source_behind = true;
            pause(backoff);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
            continue;
          }
        }
        if (full) last_full = std::chrono::steady_clock::now();
      } catch (const std::exception& e) {
        problem = std::string("malformed change feed reply: ") + e.what();
      }
    } else {
      problem = res.status ? "HTTP " + std::to_string(res.status) + ": " + res.body : res.error;
    }
    if (problem.empty()) {
      if (!connected_.exchange(true)) log::info("following change feed", {{"source", opt_.service}});
      backoff = std::chrono::milliseconds(100);
      continue;
    }
    // Keep serving from memory; say so once, then every 30 s while it lasts.
    auto now = std::chrono::steady_clock::now();
    if (connected_.exchange(false) || now - last_complaint > std::chrono::seconds(30)) {
      log::warn("change feed unavailable: serving the last known flags",
                {{"source", opt_.service}, {"problem", problem}});
      last_complaint = now;
    }
    pause(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace toggle
