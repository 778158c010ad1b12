#include "shared_cache.hpp"

#include "toggle/core/crypto.hpp"
#include "toggle/core/log.hpp"

namespace toggle::evaluation {

using nlohmann::json;

SharedCache::SharedCache(RedisAddress address, std::string prefix)
    : address_(std::move(address)), prefix_(std::move(prefix)), origin_(crypto::random_hex(8)) {}

SharedCache::~SharedCache() { stop(); }

void SharedCache::note(bool ok, const std::string& what) {
  if (reachable_.exchange(ok) != ok) {
    if (ok)
      log::info("redis reachable again", {{"redis", address_.host + ":" + std::to_string(address_.port)}});
    else
      log::warn("redis unreachable: replicas keep answering from memory", {{"problem", what}});
  }
}

std::optional<json> SharedCache::load(const std::string& feed) {
  try {
    RedisClient redis(address_);
    auto text = redis.get(prefix_ + ":" + feed);
    note(true, "");
    if (!text) return std::nullopt;
    json state = json::parse(*text, nullptr, false);
    if (state.is_discarded()) return std::nullopt;
    return state;
  } catch (const std::exception& e) {
    note(false, e.what());
    return std::nullopt;
  }
}

void SharedCache::start(std::map<std::string, Export> exports, OnChange on_change) {
  exports_ = std::move(exports);
  on_change_ = std::move(on_change);
  writer_ = std::thread([this] { write_loop(); });
  subscriber_ = std::thread([this] { subscribe_loop(); });
}

void SharedCache::share(const std::string& feed, const FeedPosition& base, const json& reply) {
  json message = {{"origin", origin_},
                  {"feed", feed},
                  {"base", {{"epoch", base.epoch}, {"version", base.version}}},
                  {"reply", reply}};
  {
    std::lock_guard lock(mutex_);
    outbox_.push_back(message.dump());
    dirty_[feed] = true;
  }
  wake_.notify_one();
}

void SharedCache::write_loop() {
  RedisClient redis(address_);
  while (!stopping_) {
    std::vector<std::string> messages;
    std::vector<std::string> feeds;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::seconds(1),
                     [this] { return stopping_ || !outbox_.empty() || !dirty_.empty(); });
      messages.swap(outbox_);
      for (auto& [feed, _] : dirty_) feeds.push_back(feed);
      dirty_.clear();
    }
    try {
      for (const auto& m : messages) redis.publish(prefix_ + ":changes", m);
      // The state is read after the change was applied, so it is at least as new as its label.
      for (const auto& feed : feeds) redis.set(prefix_ + ":" + feed, exports_.at(feed)().dump());
      note(true, "");
    } catch (const std::exception& e) {
      note(false, e.what());
      std::lock_guard lock(mutex_);
      for (const auto& feed : feeds) dirty_[feed] = true;  // store again once Redis is back
      // Messages are dropped: other replicas get the change from their own feed polls.
    }
    if (!reachable_) {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_.load(); });
    }
  }
}

void SharedCache::subscribe_loop() {
  bool lost = false;
  while (!stopping_) {
    try {
      RedisClient redis(address_, std::chrono::milliseconds(500));
      if (lost) {
        if (!redis.ping()) throw std::runtime_error("redis does not answer");
        // Back after losing the connection: Redis may have restarted empty, so the full states
        // are stored again (a replica started next warms from them).
        {
          std::lock_guard lock(mutex_);
          for (const auto& [feed, _] : exports_) dirty_[feed] = true;
        }
        wake_.notify_one();
        lost = false;
      }
      redis.subscribe(
          prefix_ + ":changes",
          [this](const std::string& text) {
            json m = json::parse(text, nullptr, false);
            if (m.is_discarded() || !m.is_object() || m.value("origin", "") == origin_) return;
            try {
              FeedPosition base{m.at("base").at("epoch").get<std::string>(),
                                m.at("base").at("version").get<std::int64_t>()};
              on_change_(m.at("feed").get<std::string>(), base, m.at("reply"));
            } catch (const std::exception& e) {
              log::warn("ignored a malformed change from another replica", {{"error", e.what()}});
            }
          },
          [this] { return stopping_.load(); });
    } catch (const std::exception& e) {
      note(false, e.what());
      lost = true;
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_.load(); });
    }
  }
}

void SharedCache::stop() {
  if (stopping_.exchange(true)) return;
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (subscriber_.joinable()) subscriber_.join();
}

}  // namespace toggle::evaluation
