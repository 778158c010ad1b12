// analytics-service's queue consumer (CLOUD_PROVIDER=aws; the same for any EventQueue and
// EventStore): every message is stored before it is acknowledged, so a crash at any point means
// a redelivery, and the store keeps each event once by event_id.
//
//   receiver threads:  long-poll the queue (10 messages at a time), parse each message
//                      (one that can never be an event goes to the dead-letter queue at once;
//                      one without event_id gets content_event_id) and hand the events over
//   storer threads:    take up to max_batch handed-over events, store them in one call,
//                      acknowledge their messages
//
// The store unavailable: the batch is released (it comes back after a short delay), receiving
// stops, and the store is probed with growing pauses until it answers; then receiving resumes.
// Nothing is received meanwhile, so a store outage does not use up messages' deliveries.
// A message the store refuses (DynamoDB rejects that item) is released alone; after the queue's
// maxReceiveCount deliveries its redrive policy moves it to the dead-letter queue.
// Several replicas share one queue: the queue leases each message to one of them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "toggle/core/event_transport.hpp"
#include "toggle/core/metrics.hpp"

namespace toggle::analytics {

struct ConsumerOptions {
  unsigned receivers = 8;                  // ANALYTICS_QUEUE_RECEIVERS: long polls at once
  unsigned storers = 2;                    // ANALYTICS_STORE_THREADS: store calls at once
  std::size_t max_batch = 500;             // events per store call
  std::size_t max_held = 5000;             // messages received and not stored yet: receiving waits above
  std::chrono::milliseconds wait{20000};   // ANALYTICS_RECEIVE_WAIT_MS: how long one poll may wait
  std::chrono::milliseconds retry_min{500};  // pauses while the store or queue is down, doubling
  std::chrono::milliseconds retry_max{30000};
};

// A message body as an event (the event contract's JSON); throws Error{invalid} saying why it can
// never be one. Without event_id, the event gets content_event_id(): a redelivery is stored once.
Event parse_event_message(std::string_view body);

class EventConsumer {
 public:
  EventConsumer(EventQueue& queue, EventStore& store, ConsumerOptions options);
  ~EventConsumer();
  void start();
  // Shutdown, first step (App::on_drain): no more polls; a poll under way returns at once.
  void stop_receiving();
  // Then (App::on_stop): what was received is stored and acknowledged (released if the store is
  // down), and the threads end.
  void stop();

 private:
  struct Received {
    std::string handle;
    Event event;
  };
  void receive_loop();
  void store_loop();
  void store_batch(std::vector<Received>& batch);
  void store_one_by_one(std::vector<Received>& batch);
  void pause_for_store(const std::string& problem);
  bool sleep_unless_stopping(std::chrono::milliseconds pause);
  void release(std::vector<Received>& batch);

  EventQueue& queue_;
  EventStore& store_;
  ConsumerOptions options_;

  std::mutex mutex_;
  std::condition_variable wake_receivers_, wake_storers_, wake_sleepers_;
  std::deque<Received> ready_;  // received and parsed, waiting for a storer
  std::size_t held_ = 0;        // received, not yet acknowledged or released
  bool paused_ = false;         // the store is down: nothing is received
  bool receiving_stopped_ = false, receivers_done_ = false;
  std::vector<std::thread> receivers_, storers_;
  GaugeHandle depth_gauge_;
};

}  // namespace toggle::analytics
