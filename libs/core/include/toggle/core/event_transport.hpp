// The seams of the event pipeline, one small interface per role, so that a transport or a store
// is one new class behind them (CLOUD_PROVIDER picks which):
//
//   evaluation-service --EventPublisher--> [ analytics' POST /events | SQS | Service Bus ]
//   [ SQS | Service Bus ] --EventQueue--> analytics-service --EventStore--> [ SQL | DynamoDB | Cosmos Table ]
//
// Every implementation keeps the pipeline's promise: each evaluation is stored exactly once,
// whatever fails -- publishers may deliver a batch twice (a retry after a lost reply), queues may
// redeliver, and stores store by event_id, so twice is once.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "toggle/core/event.hpp"

namespace toggle {

// Sends batches of events out of evaluation-service (from its sender thread, never the request path).
class EventPublisher {
 public:
  enum class Outcome {
    delivered,  // all of the batch is durably with the transport
    rejected,   // the transport will never take it (it is invalid): retrying cannot help
    failed,     // not now (unreachable, throttled, timed out): keep it and retry later
    refused,    // the transport answered with an error of its own for this batch (a 500): retried
                // a few times, then set aside, so that one batch cannot block every later one
  };
  virtual ~EventPublisher() = default;
  virtual Outcome publish(const std::vector<Event>& batch, std::chrono::milliseconds timeout) = 0;
  // What it sends to, for logs and /ready: "analytics-service", "sqs", "servicebus".
  virtual std::string name() const = 0;
  // "" when it can send now, else what is wrong (for /ready).
  virtual std::string readiness() { return {}; }
};

// Where analytics-service keeps events.
class EventStore {
 public:
  // A flag's counts (/summary). Every store keeps them as counters written with the events, so
  // reading them costs the same however many events the flag has.
  struct Summary {
    std::int64_t true_count = 0, false_count = 0;
    using Counts = std::map<std::string, std::int64_t>;
    // Of the events that named one: events per variant served, per reason ("" counts in neither).
    Counts variants, reasons;

    void count(const Event& e) {
      (e.result ? true_count : false_count) += 1;
      if (!e.variant.empty()) variants[e.variant] += 1;
      if (!e.reason.empty()) reasons[e.reason] += 1;
    }
    // Both label counts with their kind's name, for stores that keep them alike.
    std::array<std::pair<std::string_view, Counts*>, 2> labels() { return {{{"variant", &variants}, {"reason", &reasons}}}; }
    std::array<std::pair<std::string_view, const Counts*>, 2> labels() const {
      return {{{"variant", &variants}, {"reason", &reasons}}};
    }
    bool operator==(const Summary&) const = default;
  };
  virtual ~EventStore() = default;
  // Stores the batch durably (once this returns, the events survive a crash); returns how many
  // were new (the rest were stored before). Throws Error{unavailable} when it cannot now.
  virtual std::size_t store(const std::vector<Event>& events) = 0;
  // Newest first (by timestamp, then event_id), optionally of one flag.
  virtual std::vector<Event> recent(const std::optional<std::string>& flag_name, std::size_t limit) = 0;
  virtual Summary summary(const std::string& flag_name) = 0;
  // "" when it answers, else what is wrong (for /ready).
  virtual std::string readiness() = 0;
};

// A queue analytics-service consumes (SQS, Service Bus): at-least-once, each message leased to one
// consumer until it is acknowledged, released or its lease runs out.
class EventQueue {
 public:
  struct Message {
    std::string handle;  // what ack/release/dead_letter take (receipt handle, delivery tag)
    std::string body;    // one event's JSON
    int delivery_count = 1;
  };
  virtual ~EventQueue() = default;
  // Up to `max` messages, waiting up to `wait` for the first; throws Error{unavailable}.
  virtual std::vector<Message> receive(std::size_t max, std::chrono::milliseconds wait) = 0;
  // Stored: the messages are done.
  virtual void ack(const std::vector<std::string>& handles) = 0;
  // Not stored now (the store is down): let them come back later.
  virtual void release(const std::vector<std::string>& handles) = 0;
  // Never storable (malformed, or failed too often): to the dead-letter queue, with why.
  virtual void dead_letter(const std::string& handle, const std::string& reason) = 0;
  virtual std::string name() const = 0;
  // Shutdown: receive() calls waiting now return at once (empty), so that a consumer stops
  // without waiting out a long poll. Thread-safe; later receive() calls return at once too.
  virtual void interrupt() {}
  // Messages waiting, when the queue can say; nullopt otherwise.
  virtual std::optional<std::int64_t> depth() { return std::nullopt; }
  virtual std::string readiness() { return {}; }
};

}  // namespace toggle
