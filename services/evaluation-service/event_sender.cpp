#include "event_sender.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "toggle/core/log.hpp"
#include "toggle/core/metrics.hpp"
#include "toggle/core/text.hpp"

namespace toggle::evaluation {
namespace fs = std::filesystem;
namespace {

struct EventMetrics {
  Counter& emitted = metrics().counter("events_emitted_total", "Evaluation events produced");
  Counter& delivered = metrics().counter("events_delivered_total", "Events taken by the transport");
  Counter& spooled = metrics().counter("events_spooled_total", "Events written to the disk spool");
  Counter& dropped = metrics().counter("events_dropped_total", "Events lost because buffer or spool was full");
  Counter& rejected = metrics().counter("events_rejected_total", "Events the transport refused as invalid");
};
EventMetrics& counters() {
  static EventMetrics m;
  return m;
}

// Write-then-rename, so a crash of the process leaves either the whole batch or nothing (the page
// cache outlives the process). `sync` also forces it to the disk, against a crash of the machine:
// done at shutdown, not while spooling under load, where an fsync per batch costs the hot path.
bool write_file(const fs::path& path, const std::string& data, bool sync) {
  fs::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size()) && (!sync || ::fsync(fd) == 0);
  ::close(fd);
  if (ok) ok = std::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) fs::remove(tmp);
  return ok;
}

}  // namespace

EventSender::EventSender(SenderOptions options, std::unique_ptr<EventPublisher> publisher)
    : opt_(std::move(options)), publisher_(std::move(publisher)), backoff_(opt_.retry_min) {
  buffer_.reserve(std::min<std::size_t>(opt_.capacity, 16384));
  counters();
  spool_gauge_ = metrics().gauge("event_spool_files", "Batches waiting on disk for the transport",
                                 [this] { return double(spool_count_.load()); });
}

EventSender::~EventSender() { stop(std::chrono::milliseconds(0)); }

void EventSender::start() {
  fs::create_directories(opt_.spool_dir);
  scan_spool();
  if (!spool_files_.empty())
    log::info("resending events spooled before the last stop", {{"batches", spool_files_.size()}});
  thread_ = std::thread([this] { run(); });
}

void EventSender::emit(Event event) {
  counters().emitted.inc();
  std::size_t size;
  {
    std::lock_guard lock(mutex_);
    if (buffer_.size() >= opt_.capacity) {
      counters().dropped.inc();
      return;
    }
    buffer_.push_back(std::move(event));
    size = buffer_.size();
  }
  if (size == opt_.batch_size) wake_.notify_one();
}

std::size_t EventSender::spooled_files() const { return spool_count_.load(); }

void EventSender::scan_spool() {
  spool_files_.clear();
  spool_bytes_ = 0;
  for (const auto& entry : fs::directory_iterator(opt_.spool_dir)) {
    if (entry.path().extension() == ".tmp") {
      fs::remove(entry.path());  // a write interrupted by a crash
      continue;
    }
    if (entry.path().extension() != ".json") continue;
    spool_files_.push_back(entry.path().string());
    spool_bytes_ += entry.file_size();
  }
  std::sort(spool_files_.begin(), spool_files_.end());
  spool_count_ = spool_files_.size();
}

bool EventSender::deliver(const std::vector<Event>& batch, std::chrono::milliseconds timeout) {
  switch (publisher_->publish(batch, timeout)) {
    case EventPublisher::Outcome::delivered:
      counters().delivered.inc(batch.size());
      return true;
    case EventPublisher::Outcome::rejected:
      // Retrying cannot help; the publisher logged why.
      counters().rejected.inc(batch.size());
      return true;
    case EventPublisher::Outcome::failed:
      break;
  }
  return false;
}

void EventSender::spool(const std::string& body, std::size_t count) {
  if (spool_bytes_ + body.size() > opt_.spool_max_bytes) {
    counters().dropped.inc(count);
    log::error("event spool full: events dropped", {{"events", count}, {"spool_bytes", spool_bytes_}});
    return;
  }
  char name[64];
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  std::snprintf(name, sizeof name, "%020lld-%08llu.json", static_cast<long long>(ms.count()),
                static_cast<unsigned long long>(spool_seq_++));
  fs::path path = fs::path(opt_.spool_dir) / name;
  if (!write_file(path, body, stopping_.load())) {
    counters().dropped.inc(count);
    log::error("cannot write the event spool: events dropped", {{"path", path.string()}, {"events", count}});
    return;
  }
  counters().spooled.inc(count);
  spool_files_.push_back(path.string());
  spool_bytes_ += body.size();
  spool_count_ = spool_files_.size();
}

bool EventSender::drain_spool_once(std::chrono::milliseconds timeout) {
  const std::string path = spool_files_.front();
  std::ifstream in(path, std::ios::binary);
  std::stringstream data;
  data << in.rdbuf();
  std::string body = data.str();
  std::vector<Event> events;
  try {
    events = parse_event_batch(body);
  } catch (const std::exception& e) {
    log::error("unreadable spool file: its events are lost", {{"path", path}, {"error", e.what()}});
    counters().dropped.inc();
    events.clear();
  }
  if (!events.empty() && !deliver(events, timeout)) return false;
  fs::remove(path);
  spool_bytes_ -= std::min<std::uint64_t>(spool_bytes_, body.size());
  spool_files_.erase(spool_files_.begin());
  spool_count_ = spool_files_.size();
  return true;
}

// Sends `events` in batches; once a batch fails, it and everything after it go to the spool,
// so events keep their order and the request path never waits for analytics. Delivery stops at
// `deliver_until`: when analytics is slower than evaluation, the rest goes to disk rather than
// letting the memory buffer overflow, and is delivered later, when the load drops.
void EventSender::process(std::vector<Event>& events, std::chrono::steady_clock::time_point deliver_until) {
  std::size_t i = 0;
  std::vector<Event> batch;
  while (i < events.size()) {
    std::size_t end = std::min(events.size(), i + opt_.batch_size);
    std::string body = to_json_array(events.data() + i, events.data() + end);
    while (body.size() > opt_.max_batch_bytes && end - i > 1) {
      end = i + (end - i) / 2;
      body = to_json_array(events.data() + i, events.data() + end);
    }
    // A slow transport must not hold the sender past its round either: a batch that times out is
    // spooled and sent again later (the store keeps events by event_id, so twice is once).
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deliver_until - std::chrono::steady_clock::now());
    bool deliverable = spool_files_.empty() && left.count() > 0;
    batch.assign(std::make_move_iterator(events.begin() + static_cast<std::ptrdiff_t>(i)),
                 std::make_move_iterator(events.begin() + static_cast<std::ptrdiff_t>(end)));
    if (!deliverable || !deliver(batch, std::clamp(left, std::chrono::milliseconds(50), opt_.timeout)))
      spool(body, end - i);
    i = end;
  }
  events.clear();
}

void EventSender::run() {
  std::vector<Event> taken;
  taken.reserve(buffer_.capacity());
  while (!stopping_) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, opt_.flush_interval, [this] { return stopping_ || buffer_.size() >= opt_.batch_size; });
      if (stopping_) break;  // what is buffered now is stop()'s, under its deadline
      taken.swap(buffer_);
    }
    // Each round delivers for at most round_budget (a quarter of the time the buffer takes to
    // fill at a high rate), so the buffer is emptied again before it overflows.
    auto deliver_until = std::chrono::steady_clock::now() + opt_.round_budget;
    // Retry the spool first (with backoff while analytics stays down), then the fresh events.
    while (!spool_files_.empty() && !stopping_ && std::chrono::steady_clock::now() < deliver_until &&
           std::chrono::steady_clock::now() >= next_retry_) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deliver_until - std::chrono::steady_clock::now());
      if (drain_spool_once(std::clamp(left, std::chrono::milliseconds(50), opt_.timeout))) {
        backoff_ = opt_.retry_min;
        continue;
      }
      next_retry_ = std::chrono::steady_clock::now() + backoff_;
      backoff_ = std::min(backoff_ * 2, opt_.retry_max);
    }
    process(taken, deliver_until);
  }
}

void EventSender::stop(std::chrono::milliseconds deadline) {
  if (stopping_.exchange(true)) return;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<Event> rest;
  {
    std::lock_guard lock(mutex_);
    rest.swap(buffer_);
  }
  if (rest.empty()) return;
  // Last chance to deliver directly; whatever cannot be delivered in time waits on disk.
  opt_.timeout = std::min(opt_.timeout, deadline);
  process(rest, std::chrono::steady_clock::now() + deadline);
  log::info("event sender stopped", {{"spooled_batches", spool_files_.size()}});
}

}  // namespace toggle::evaluation
