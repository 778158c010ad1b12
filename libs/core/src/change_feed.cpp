#include "toggle/core/change_feed.hpp"

#include "toggle/core/log.hpp"
#include "toggle/core/text.hpp"

namespace toggle {

ChangeFeed::ChangeFeed(std::int64_t version, std::string epoch, Builder build)
    : build_(std::move(build)), epoch_(std::move(epoch)), version_(version), thread_([this] { loop(); }) {}

ChangeFeed::~ChangeFeed() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = closed_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::int64_t ChangeFeed::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

void ChangeFeed::publish(std::int64_t version) {
  {
    std::lock_guard lock(mutex_);
    if (version <= version_) return;
    version_ = version;
  }
  wake_.notify_all();
}

void ChangeFeed::set_version_source(std::function<std::int64_t()> source) {
  std::lock_guard lock(mutex_);
  version_source_ = std::move(source);
}

void ChangeFeed::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  wake_.notify_all();
}

Reply ChangeFeed::wait(std::int64_t since, const std::string& epoch, std::chrono::milliseconds max_wait) {
  std::function<std::int64_t()> source;
  {
    std::lock_guard lock(mutex_);
    if (since > version_ && epoch == epoch_ && !closed_ && max_wait.count() > 0) source = version_source_;
  }
  if (source) publish(source());  // a reader ahead of us: maybe only of what we were told so far
  bool answer_now;
  {
    std::lock_guard lock(mutex_);
    // A reader still ahead of the store (a restored database) is answered at once too: in full.
    answer_now = since != version_ || epoch != epoch_ || closed_ || max_wait.count() <= 0;
  }
  if (answer_now) return build_(since, epoch);  // outside the lock: building reads storage
  return Deferred{[this, since, epoch, max_wait](Responder responder) {
    {
      std::lock_guard lock(mutex_);
      waiters_.push_back({since, epoch, std::chrono::steady_clock::now() + max_wait, std::move(responder)});
    }
    wake_.notify_all();
  }};
}

Reply ChangeFeed::handle(const Request& req) {
  auto number = [&req](const char* name, std::int64_t fallback, std::int64_t max) {
    auto text = req.query(name);
    if (!text) return fallback;
    auto value = parse_bounded_int(*text, 0, max);
    if (!value)
      throw Error::invalid("invalid_parameter",
                           std::string("'") + name + "' must be an integer between 0 and " + std::to_string(max));
    return *value;
  };
  std::int64_t since = number("since", 0, 999999999999999999);
  std::int64_t wait_ms = number("wait_ms", 0, 60000);
  std::string epoch = req.query("epoch").value_or("");
  if (epoch.size() > 64) throw Error::invalid("invalid_parameter", "'epoch' is too long");
  return wait(since, epoch, std::chrono::milliseconds(wait_ms));
}

void ChangeFeed::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    auto next_deadline = now + std::chrono::seconds(1);
    std::vector<Waiter> due;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (closed_ || it->since != version_ || it->deadline <= now) {
        due.push_back(std::move(*it));
        it = waiters_.erase(it);
      } else {
        next_deadline = std::min(next_deadline, it->deadline);
        ++it;
      }
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& w : due) {
        try {
          w.responder(build_(w.since, w.epoch));
        } catch (const std::exception& e) {
          log::warn("change feed reply failed", {{"error", e.what()}});
          w.responder(error_response(ErrorKind::unavailable, "storage_unavailable", "storage unavailable"));
        }
      }
      lock.lock();
      continue;
    }
    if (stopping_) return;
    wake_.wait_until(lock, next_deadline);
  }
}

}  // namespace toggle
