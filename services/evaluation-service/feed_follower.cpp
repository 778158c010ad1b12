#include "feed_follower.hpp"

#include "toggle/core/client.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle::evaluation {

FeedFollower::FeedFollower(FeedOptions options, std::function<void(const json&)> apply)
    : opt_(std::move(options)), apply_(std::move(apply)) {}

FeedFollower::~FeedFollower() { stop(); }

void FeedFollower::start() {
  thread_ = std::thread([this] { run(); });
}

void FeedFollower::stop() {
  stopping_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FeedFollower::pause(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, d, [this] { return stopping_.load(); });
}

void FeedFollower::run() {
  HttpClient client;
  std::int64_t since = 0;
  std::string epoch;
  auto backoff = std::chrono::milliseconds(100);
  auto last_full = std::chrono::steady_clock::now();
  auto last_complaint = std::chrono::steady_clock::time_point{};
  while (!stopping_) {
    if (std::chrono::steady_clock::now() - last_full > opt_.full_resync) since = 0;
    std::string url = opt_.base_url + "/changes?since=" + std::to_string(since) + "&epoch=" + epoch +
                      "&wait_ms=" + std::to_string(since == 0 ? 0 : opt_.wait.count());
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
        apply_(reply);
        since = reply.at("version").get<std::int64_t>();
        epoch = reply.at("epoch").get<std::string>();
        if (reply.at("full").get<bool>()) last_full = std::chrono::steady_clock::now();
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

}  // namespace toggle::evaluation
