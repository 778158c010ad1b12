#include "shared_cache.hpp"

#include "toggle/core/crypto.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/metrics.hpp"

namespace toggle::evaluation {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxNesting = 32;  // a feed reply nests 5 levels (object flags: a few more)

Counter& rejected_entries() {
  static Counter& c = metrics().counter("redis_entries_rejected_total",
                                        "States or messages read from Redis and ignored: unsigned, forged or malformed");
  return c;
}

}  // namespace

SharedCache::SharedCache(RedisAddress address, const std::string& service_key, std::string prefix)
    : address_(std::move(address)),
      signing_key_(crypto::sha256_hex("togglemaster redis signing key\n" + service_key)),
      prefix_(std::move(prefix)),
      origin_(crypto::random_hex(8)) {
  rejected_entries();
}

bool SharedCache::has_feed_reply_shape(const json& reply) {
  if (!reply.is_object()) return false;
  auto epoch = reply.find("epoch"), version = reply.find("version"), full = reply.find("full"),
       deleted = reply.find("deleted");
  return epoch != reply.end() && epoch->is_string() && epoch->get_ref<const std::string&>().size() <= 64 &&
         version != reply.end() && version->is_number_integer() && version->get<std::int64_t>() >= 0 &&
         full != reply.end() && full->is_boolean() && deleted != reply.end() && deleted->is_array();
}

SharedCache::Change SharedCache::read_change(const json& message) {
  if (!message.is_object()) throw std::runtime_error("not a JSON object");
  if (!has_feed_reply_shape(message.at("reply"))) throw std::runtime_error("not a feed reply");
  return {message.at("origin").get<std::string>(), message.at("feed").get<std::string>(),
          FeedPosition{message.at("base").at("epoch").get<std::string>(),
                       message.at("base").at("version").get<std::int64_t>()},
          message.at("reply")};
}

std::string SharedCache::seal(const std::string& signing_key, const std::string& where, const std::string& text) {
  return crypto::hmac_sha256_hex(signing_key, where + "\n" + text) + " " + text;
}

std::optional<json> SharedCache::open(const std::string& signing_key, const std::string& where,
                                      const std::string& sealed) {
  auto reject = [&](const char* why) -> std::optional<json> {
    rejected_entries().inc();
    log::warn("ignored an entry read from redis", {{"where", where}, {"reason", why}, {"bytes", sealed.size()}});
    return std::nullopt;
  };
  if (sealed.size() < 65 || sealed[64] != ' ') return reject("not sealed");
  std::string_view text = std::string_view(sealed).substr(65);
  std::string expected = crypto::hmac_sha256_hex(signing_key, where + "\n" + std::string(text));
  if (!crypto::constant_time_equal(std::string_view(sealed).substr(0, 64), expected))
    return reject("bad signature (written by something else than a replica with this SERVICE_API_KEY)");
  if (!nesting_within(text, kMaxNesting)) return reject("nested too deeply");
  json value = json::parse(text, nullptr, false);
  if (value.is_discarded()) return reject("not JSON");
  return value;
}

SharedCache::~SharedCache() { stop(); }

void SharedCache::note(bool ok, const std::string& what) {
  if (reachable_.exchange(ok) != ok) {
    if (ok)
      log::info("redis reachable again", {{"redis", address_.describe()}});
    else
      log::warn("redis unreachable: replicas keep answering from memory", {{"problem", what}});
  }
}

std::optional<json> SharedCache::load(const std::string& feed) {
  try {
    RedisClient redis(address_);
    std::string key = prefix_ + ":" + feed;
    auto text = redis.get(key);
    note(true, "");
    if (!text) return std::nullopt;
    auto state = open(signing_key_, key, *text);
    if (state && !has_feed_reply_shape(*state)) {
      rejected_entries().inc();
      log::warn("ignored an entry read from redis", {{"where", key}, {"reason", "not a feed state"}});
      return std::nullopt;
    }
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
    outbox_.push_back(seal(signing_key_, prefix_ + ":changes", message.dump()));
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
      for (const auto& feed : feeds) {
        std::string key = prefix_ + ":" + feed;
        redis.set(key, seal(signing_key_, key, exports_.at(feed)().dump()));
      }
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
            auto m = open(signing_key_, prefix_ + ":changes", text);
            if (!m) return;
            try {
              Change change = read_change(*m);
              if (change.origin != origin_) on_change_(change.feed, change.base, change.reply);
            } catch (const std::exception& e) {
              rejected_entries().inc();
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
