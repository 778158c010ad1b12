// Evaluation events on their way to analytics-service. The request thread only appends to a
// bounded in-memory buffer (never blocks, never does I/O); a sender thread posts batches to
// analytics' POST /events. A batch that cannot be delivered goes to a spool folder on disk and is
// retried, oldest first, until analytics takes it; the spool also survives restarts. Events are
// dropped only when the buffer or the spool is full, and then counted (events_dropped_total).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "toggle/core/client.hpp"
#include "toggle/core/metrics.hpp"

namespace toggle::evaluation {

struct Event {
  std::string event_id, user_id, flag_name;
  bool result = false;
  std::string timestamp;
};

// `[{"event_id":…,"user_id":…,"flag_name":…,"result":…,"timestamp":…}, …]`
std::string to_json_array(const Event* begin, const Event* end);

struct SenderOptions {
  std::string analytics_url, api_key, spool_dir;
  std::size_t capacity = 100000;          // events held in memory
  std::size_t batch_size = 1000;          // events per POST
  std::size_t max_batch_bytes = 1 << 20;  // analytics' /events accepts up to 4 MiB
  std::chrono::milliseconds flush_interval{100};
  std::uint64_t spool_max_bytes = 1ull << 30;
  std::chrono::milliseconds timeout{2000};
};

class EventSender {
 public:
  explicit EventSender(SenderOptions options);
  ~EventSender();
  void start();
  void emit(Event event);
  // Deliver what is buffered within `deadline`, spool the rest, stop the thread.
  void stop(std::chrono::milliseconds deadline);
  std::size_t spooled_files() const;

 private:
  void run();
  void process(std::vector<Event>& events, std::chrono::steady_clock::time_point deliver_until);
  bool deliver(const std::string& body, std::size_t count, std::chrono::milliseconds timeout);
  void spool(const std::string& body, std::size_t count);
  bool drain_spool_once(std::chrono::milliseconds timeout);  // false: analytics still unreachable
  void scan_spool();

  SenderOptions opt_;
  HttpClient client_;
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
  std::chrono::milliseconds backoff_{200};
  GaugeHandle spool_gauge_;
};

}  // namespace toggle::evaluation
