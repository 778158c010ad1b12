// Evaluation events on their way out of evaluation-service. The request thread only appends to a
// bounded in-memory buffer (never blocks, never does I/O); a sender thread hands batches to the
// EventPublisher (analytics' POST /events, SQS or Service Bus: CLOUD_PROVIDER). A batch that
// cannot be delivered goes to a spool folder on disk and is retried, oldest first, until the
// transport takes it; the spool also survives restarts. Events are dropped only when the buffer or
// the spool is full, and then counted (events_dropped_total).
//
// The spool's promise (EVENT_SPOOL_SYNC): with `group` (the default) the files written in one round
// of the sender are flushed to the disk together, with their directory, before the round ends, so
// a power loss costs at most the round under way; with `none` they are left to the page cache
// (a crash of the process loses nothing, a crash of the machine may lose recent batches). Every
// file carries its length, event count and SHA-256: a file torn by a crash is not sent but moved to
// <spool>/quarantine/ and its events counted as lost (events_quarantined_total). A spool that
// cannot be written (read-only or full file system) never stops the service: events are counted as
// dropped, and spooling resumes once the disk takes writes again.
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

enum class SpoolSync { group, none };

struct SenderOptions {
  std::string spool_dir;
  SpoolSync sync = SpoolSync::group;
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
  // A batch the transport fails on with an error of its own (Outcome::refused) is tried this many
  // times, then moved to the quarantine folder, so that it cannot hold back the batches after it.
  int max_refusals = 5;
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
  enum class Delivery { delivered, retry_later, refused };
  Delivery deliver_outcome(const std::vector<Event>& batch, std::chrono::milliseconds timeout);
  void spool(const std::string& body, std::size_t count);
  bool drain_spool_once(std::chrono::milliseconds timeout);  // false: the transport is still unreachable
  void scan_spool();
  void forget_spool_head(std::uint64_t bytes);
  // Moves a spool file that cannot (or may never) be delivered aside; `events` lost (0: unknown).
  void quarantine(const std::string& path, std::size_t events, const std::string& why);
  void sync_spool();  // the group commit of the files spooled since the last one

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
  int head_refusals_ = 0;      // Outcome::refused answers to the spool's oldest file so far
  bool unsynced_ = false;      // files written since the last sync_spool()
  GaugeHandle spool_gauge_;
};

}  // namespace toggle::evaluation
