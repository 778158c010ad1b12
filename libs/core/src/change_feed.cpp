#include "toggle/core/change_feed.hpp"

#include <algorithm>
#include <tuple>

#include "toggle/core/auth.hpp"
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

Reply ChangeFeed::wait(std::int64_t since, const std::string& epoch, std::chrono::milliseconds max_wait,
                       const std::string& reader) {
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
  {
    std::lock_guard lock(mutex_);
    auto it = parked_per_reader_.find(reader);
    if (it != parked_per_reader_.end() && it->second >= max_parked_per_reader_)
      throw Error(ErrorKind::too_many_requests, "too_many_polls",
                  "this API key has " + std::to_string(it->second) + " change-feed polls parked already");
  }
  return Deferred{[this, since, epoch, max_wait, reader](Responder responder) {
    std::uint64_t id;
    {
      std::lock_guard lock(mutex_);
      id = next_waiter_++;
      ++parked_per_reader_[reader];
      waiters_.emplace(id, Waiter{since, epoch, std::chrono::steady_clock::now() + max_wait, responder, reader});
    }
    // A reader that leaves frees its place (and its key's share) at once, not when its wait ends.
    // Outside the lock: the hook takes it, and runs right here if the reader has gone already.
    // It cannot outlive the feed: the feed answers every waiter before it goes (see on_abandon).
    responder.on_abandon([this, id] { drop(id); });
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
  return wait(since, epoch, std::chrono::milliseconds(wait_ms), std::string(api_key_of(req)));
}

void ChangeFeed::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    auto next_deadline = now + std::chrono::seconds(1);
    std::vector<Waiter> due;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      auto& w = it->second;
      if (closed_ || w.since != version_ || w.deadline <= now) {
        unpark(w.reader);
        due.push_back(std::move(w));
        it = waiters_.erase(it);
      } else {
        next_deadline = std::min(next_deadline, w.deadline);
        ++it;
      }
    }
    if (!due.empty()) {
      lock.unlock();
      answer(due);
      lock.lock();
      continue;
    }
    if (stopping_) return;
    wake_.wait_until(lock, next_deadline);
  }
}

void ChangeFeed::unpark(const std::string& reader) {
  if (auto it = parked_per_reader_.find(reader); it != parked_per_reader_.end() && --it->second == 0)
    parked_per_reader_.erase(it);
}

void ChangeFeed::drop(std::uint64_t waiter) {
  std::lock_guard lock(mutex_);
  if (auto it = waiters_.find(waiter); it != waiters_.end()) {  // else answered already
    unpark(it->second.reader);
    waiters_.erase(it);
  }
}

// Readers parked at the same position get the same reply: it is built once per distinct (since,
// epoch), not once per reader, so a write costs the same with one parked reader or thousands.
void ChangeFeed::answer(std::vector<Waiter>& due) {
  std::stable_sort(due.begin(), due.end(), [](const Waiter& a, const Waiter& b) {
    return std::tie(a.since, a.epoch) < std::tie(b.since, b.epoch);
  });
  for (std::size_t i = 0; i < due.size();) {
    Response reply;
    try {
      reply = build_(due[i].since, due[i].epoch);
    } catch (const std::exception& e) {
      log::warn("change feed reply failed", {{"error", e.what()}});
      reply = error_response(ErrorKind::unavailable, "storage_unavailable", "storage unavailable");
    }
    std::size_t j = i;
    for (; j < due.size() && due[j].since == due[i].since && due[j].epoch == due[i].epoch; ++j) due[j].responder(reply);
    i = j;
  }
}

}  // namespace toggle
