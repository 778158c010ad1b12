#include "toggle/core/redis.hpp"

#include <hiredis/hiredis.h>

#include <stdexcept>

namespace toggle {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

timeval to_timeval(std::chrono::milliseconds ms) {
  return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

std::optional<RedisAddress> parse_redis_url(const std::string& url) {
  std::string rest;
  if (url.rfind("redis://", 0) == 0)
    rest = url.substr(8);
  else
    return std::nullopt;
  RedisAddress a;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    a.password = auth.substr(auth.find(':') == std::string::npos ? 0 : auth.find(':') + 1);
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      if (db.find_first_not_of("0123456789") != std::string::npos || db.size() > 4) return std::nullopt;
      a.db = std::stoi(db);
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    a.port = std::stoi(port);
    rest = rest.substr(0, colon);
  }
  if (rest.empty() || a.port <= 0 || a.port > 65535) return std::nullopt;
  a.host = rest;
  return a;
}

struct RedisClient::Impl {
  RedisAddress address;
  std::chrono::milliseconds timeout;
  redisContext* ctx = nullptr;

  ~Impl() { drop(); }
  void drop() {
    if (ctx) redisFree(ctx);
    ctx = nullptr;
  }
  [[noreturn]] void fail(const std::string& what) {
    std::string detail = ctx && ctx->err ? std::string(": ") + ctx->errstr : "";
    drop();  // reconnect on the next call
    throw std::runtime_error("redis " + what + detail);
  }
  redisContext* connected() {
    if (ctx) return ctx;
    ctx = redisConnectWithTimeout(address.host.c_str(), address.port, to_timeval(timeout));
    if (!ctx || ctx->err) fail("connect to " + address.host + ":" + std::to_string(address.port));
    redisSetTimeout(ctx, to_timeval(timeout));
    if (!address.password.empty()) command({"AUTH", address.password});
    if (address.db != 0) command({"SELECT", std::to_string(address.db)});
    return ctx;
  }
  Reply command(std::initializer_list<std::string> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    auto* raw = static_cast<redisReply*>(
        redisCommandArgv(connected(), static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!raw) fail("command failed");
    Reply reply(raw);
    if (reply->type == REDIS_REPLY_ERROR) throw std::runtime_error("redis: " + std::string(reply->str, reply->len));
    return reply;
  }
};

RedisClient::RedisClient(RedisAddress address, std::chrono::milliseconds timeout) : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->timeout = timeout;
}

RedisClient::~RedisClient() = default;

std::optional<std::string> RedisClient::get(const std::string& key) {
  auto r = impl_->command({"GET", key});
  if (r->type == REDIS_REPLY_NIL) return std::nullopt;
  return std::string(r->str, r->len);
}

void RedisClient::set(const std::string& key, const std::string& value) { impl_->command({"SET", key, value}); }

void RedisClient::publish(const std::string& channel, const std::string& message) {
  impl_->command({"PUBLISH", channel, message});
}

bool RedisClient::ping() noexcept {
  try {
    return impl_->command({"PING"})->type == REDIS_REPLY_STATUS;
  } catch (const std::exception&) {
    return false;
  }
}

void RedisClient::subscribe(const std::string& channel, const std::function<void(const std::string&)>& on_message,
                            const std::function<bool()>& stop) {
  impl_->command({"SUBSCRIBE", channel});
  while (!stop()) {
    void* raw = nullptr;
    if (redisGetReply(impl_->ctx, &raw) != REDIS_OK) {
      // A read timeout only means "no message yet": check `stop` and wait again.
      if (impl_->ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        impl_->ctx->err = 0;
        continue;
      }
      impl_->fail("subscription lost");
    }
    Reply reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 && reply->element[2]->type == REDIS_REPLY_STRING)
      on_message(std::string(reply->element[2]->str, reply->element[2]->len));
  }
  impl_->drop();  // leave subscribed mode
}

}  // namespace toggle
