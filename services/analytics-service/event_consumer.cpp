#include "event_consumer.hpp"

#include <algorithm>

#include "toggle/core/error.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle::analytics {
namespace {

struct ConsumerMetrics {
  Counter& received = metrics().counter("analytics_events_received_total", "Messages received from the event queue");
  Counter& redelivered = metrics().counter("analytics_events_redelivered_total",
                                           "Messages received again (a lease that ended, a release, a crash)");
  Counter& dead_lettered =
      metrics().counter("analytics_events_dead_lettered_total", "Messages moved to the dead-letter queue (never events)");
  Counter& stored = metrics().counter("analytics_events_stored_total", "Events stored (new)");
  Counter& duplicates = metrics().counter("analytics_events_duplicate_total", "Events received again");
  Counter& released = metrics().counter("analytics_events_released_total",
                                        "Messages handed back to the queue unstored (the store down or refusing)");
};
ConsumerMetrics& counters() {
  static ConsumerMetrics m;
  return m;
}

}  // namespace

Event parse_event_message(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) throw Error::invalid("invalid_json", "the message is not JSON");
  return parse_event(j, "message", /*id_required=*/false);
}

EventConsumer::EventConsumer(EventQueue& queue, EventStore& store, ConsumerOptions options)
    : queue_(queue), store_(store), options_(options) {
  counters();
  depth_gauge_ = metrics().gauge("analytics_queue_depth", "Messages waiting in the event queue (visible), -1 unknown",
                                 [this] { return double(queue_.depth().value_or(-1)); });
}

EventConsumer::~EventConsumer() { stop(); }

void EventConsumer::start() {
  for (unsigned i = 0; i < options_.receivers; ++i) receivers_.emplace_back([this] { receive_loop(); });
  for (unsigned i = 0; i < options_.storers; ++i) storers_.emplace_back([this] { store_loop(); });
  log::info("consuming events", {{"queue", queue_.name()}, {"receivers", options_.receivers}});
}

void EventConsumer::stop_receiving() {
  {
    std::lock_guard lock(mutex_);
    receiving_stopped_ = true;
  }
  queue_.interrupt();
  wake_receivers_.notify_all();
  wake_sleepers_.notify_all();
}

void EventConsumer::stop() {
  stop_receiving();
  for (auto& t : receivers_) t.join();
  receivers_.clear();
  {
    std::lock_guard lock(mutex_);
    receivers_done_ = true;
  }
  wake_storers_.notify_all();
  for (auto& t : storers_) t.join();
  storers_.clear();
}

bool EventConsumer::sleep_unless_stopping(std::chrono::milliseconds pause) {
  std::unique_lock lock(mutex_);
  return !wake_sleepers_.wait_for(lock, pause, [this] { return receiving_stopped_; });
}

void EventConsumer::receive_loop() {
  auto backoff = options_.retry_min;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_receivers_.wait(lock, [this] { return receiving_stopped_ || (!paused_ && held_ < options_.max_held); });
      if (receiving_stopped_) return;
    }
    std::vector<EventQueue::Message> messages;
    try {
      messages = queue_.receive(10, options_.wait);
      backoff = options_.retry_min;
    } catch (const std::exception& e) {
      // The queue unreachable: each receiver waits, longer each time ("/ready" says why).
      log::warn("cannot receive events", {{"queue", queue_.name()}, {"error", e.what()}});
      if (!sleep_unless_stopping(backoff)) return;
      backoff = std::min(backoff * 2, options_.retry_max);
      continue;
    }
    if (messages.empty()) continue;
    counters().received.inc(messages.size());
    std::vector<Received> parsed;
    for (auto& m : messages) {
      if (m.delivery_count > 1) counters().redelivered.inc();
      try {
        Event event = parse_event_message(m.body);  // before the handle is moved: dead_letter needs it
        parsed.push_back({std::move(m.handle), std::move(event)});
      } catch (const std::exception& e) {
        // Never an event, however often it is delivered: out of the way at once.
        counters().dead_lettered.inc();
        queue_.dead_letter(m.handle, e.what());
      }
    }
    {
      std::lock_guard lock(mutex_);
      held_ += parsed.size();
      for (auto& r : parsed) ready_.push_back(std::move(r));
    }
    wake_storers_.notify_one();
  }
}

void EventConsumer::store_loop() {
  for (;;) {
    std::vector<Received> batch;
    {
      std::unique_lock lock(mutex_);
      wake_storers_.wait(lock, [this] { return (!ready_.empty() && !paused_) || receivers_done_; });
      if (ready_.empty() && receivers_done_) return;
      if (paused_) {
        // Stopping while the store is down: hand everything back, it is stored after the restart.
        batch.assign(std::make_move_iterator(ready_.begin()), std::make_move_iterator(ready_.end()));
        ready_.clear();
        lock.unlock();
        release(batch);
        return;
      }
      std::size_t n = std::min(ready_.size(), options_.max_batch);
      batch.assign(std::make_move_iterator(ready_.begin()), std::make_move_iterator(ready_.begin() + n));
      ready_.erase(ready_.begin(), ready_.begin() + n);
    }
    store_batch(batch);
  }
}

void EventConsumer::release(std::vector<Received>& batch) {
  if (batch.empty()) return;
  std::vector<std::string> handles;
  for (auto& r : batch) handles.push_back(std::move(r.handle));
  queue_.release(handles);
  counters().released.inc(handles.size());
  {
    std::lock_guard lock(mutex_);
    held_ -= handles.size();
  }
  wake_receivers_.notify_all();
  batch.clear();
}

void EventConsumer::store_batch(std::vector<Received>& batch) {
  std::vector<Event> events;
  events.reserve(batch.size());
  for (const auto& r : batch) events.push_back(r.event);
  try {
    std::size_t stored = store_.store(events);
    std::vector<std::string> handles;
    for (auto& r : batch) handles.push_back(std::move(r.handle));
    queue_.ack(handles);  // only now: the events are durable
    counters().stored.inc(stored);
    counters().duplicates.inc(events.size() - stored);
    {
      std::lock_guard lock(mutex_);
      held_ -= handles.size();
    }
    wake_receivers_.notify_all();
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::invalid) {
      store_one_by_one(batch);  // find the event the store refuses, store the others
      return;
    }
    release(batch);
    pause_for_store(e.what());
  } catch (const std::exception& e) {
    release(batch);
    pause_for_store(e.what());
  }
}

// The store refused something in the batch: each event alone, so that one bad event does not hold
// back the others. The refused one is released: the queue's redrive policy moves it to the
// dead-letter queue after its last delivery.
void EventConsumer::store_one_by_one(std::vector<Received>& batch) {
  for (std::size_t i = 0; i < batch.size(); ++i) {
    try {
      std::size_t stored = store_.store({batch[i].event});
      queue_.ack({batch[i].handle});
      counters().stored.inc(stored);
      counters().duplicates.inc(1 - stored);
      std::lock_guard lock(mutex_);
      held_ -= 1;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::invalid) {
        std::vector<Received> refused(std::make_move_iterator(batch.begin() + i),
                                      std::make_move_iterator(batch.begin() + i + 1));
        log::warn("the store refused an event: released (dead-lettered after its last delivery)",
                  {{"event_id", refused[0].event.event_id}, {"error", e.what()}});
        release(refused);
        continue;
      }
      // The store went down meanwhile: this event and the rest wait for it.
      std::vector<Received> rest(std::make_move_iterator(batch.begin() + i), std::make_move_iterator(batch.end()));
      release(rest);
      pause_for_store(e.what());
      return;
    }
  }
  wake_receivers_.notify_all();
}

// The store is down: stop receiving, hand back what is waiting, and probe the store with growing
// pauses until it answers (one storer probes; the others wait for it).
void EventConsumer::pause_for_store(const std::string& problem) {
  {
    std::lock_guard lock(mutex_);
    if (paused_) return;
    paused_ = true;
  }
  log::warn("the event store is unavailable: consumption paused", {{"error", problem}});
  auto backoff = options_.retry_min;
  for (;;) {
    std::vector<Received> waiting;
    {
      std::lock_guard lock(mutex_);
      waiting.assign(std::make_move_iterator(ready_.begin()), std::make_move_iterator(ready_.end()));
      ready_.clear();
    }
    release(waiting);
    if (!sleep_unless_stopping(backoff)) return;  // stopping: store_loop hands back the rest
    backoff = std::min(backoff * 2, options_.retry_max);
    std::string still = store_.readiness();
    if (still.empty()) break;
    log::debug("the event store is still unavailable", {{"error", still}});
  }
  {
    std::lock_guard lock(mutex_);
    paused_ = false;
  }
  log::info("the event store answers again: consumption resumed");
  wake_receivers_.notify_all();
  wake_storers_.notify_all();
}

}  // namespace toggle::analytics
