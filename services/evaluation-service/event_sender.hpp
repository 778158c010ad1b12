// Evaluation events on their way out of evaluation-service. The request thread only appends to a
// bounded in-memory buffer (never blocks, never does I/O); a sender thread hands batches to the
// EventPublisher (analytics' POST /events, SQS or Service Bus: CLOUD_PROVIDER). A batch that
// cannot be delivered goes to a spool folder on disk and is retried, oldest first, until the
// transport takes it; the spool also survives restarts. Events are dropped only when the buffer or
// the spool is full, and then counted (events_dropped_total).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "toggle/core/event_transport.hpp"
#include "toggle/core/metrics.hpp"

namespace toggle::evaluation {

struct SenderOptions {
  std::string spool_dir;
  std::size_t capacity = 100000;          // events held in memory
  std::size_t batch_size = 1000;          // events per batch
  std::size_t max_batch_bytes = 1 << 20;  // and bytes (analytics' /events takes up to 4 MiB)
  std::chrono::milliseconds flush_interval{100};
  std::uint64_t spool_max_bytes = 1ull << 30;
  std::chrono::milliseconds timeout{2000};  // one delivery
  // Each round of the sender delivers for at most this long, then spools the rest: when the
  // transport is slower than evaluation, events wait on disk instead of overflowing the buffer.
  std::chrono::milliseconds round_budget{250};
  // While the transport stays down, the spool is retried after this pause, doubling up to the max.
  std::chrono::milliseconds retry_min{200}, retry_max{5000};
};

class EventSender {
 public:
  EventSender(SenderOptions options, std::unique_ptr<EventPublisher> publisher);
  ~EventSender();
  void start();
  void emit(Event event);
  // Deliver what is buffered within `deadline`, spool the rest, stop the thread.
  void stop(std::chrono::milliseconds deadline);
  std::size_t spooled_files() const;
  EventPublisher& publisher() { return *publisher_; }

 private:
  void run();
  void process(std::vector<Event>& events, std::chrono::steady_clock::time_point deliver_until);
  bool deliver(const std::vector<Event>& batch, std::chrono::milliseconds timeout);
  void spool(const std::string& body, std::size_t count);
  bool drain_spool_once(std::chrono::milliseconds timeout);  // false: the transport is still unreachable
  void scan_spool();

  SenderOptions opt_;
  std::unique_ptr<EventPublisher> publisher_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Event> buffer_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;

  // Sender-thread state.
  std::vector<std::string> spool_files_;  // oldest first
  std::atomic<std::size_t> spool_count_{0};
  std::uint64_t spool_bytes_ = 0, spool_seq_ = 0;
  std::chrono::steady_clock::time_point next_retry_{};
  std::chrono::milliseconds backoff_;
  GaugeHandle spool_gauge_;
};

}  // namespace toggle::evaluation
