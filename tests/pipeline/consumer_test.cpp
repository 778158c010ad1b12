// The queue consumer's rules, against an in-memory queue and store of the test's own (the same
// consumer runs against SQS and DynamoDB in pipeline_aws_tests and the e2e tests): store before
// acknowledging, a poison message to the dead-letter queue at once, a store outage pauses
// receiving (no busy loop) and resumes, a refused event held back alone, a prompt stop.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "event_consumer.hpp"
#include "eventually.hpp"
#include "toggle/core/error.hpp"

namespace {

using testsupport::eventually;
using toggle::Event;
using namespace std::chrono_literals;

// A queue with leases: received messages are held until acked, released (back at the end) or
// dead-lettered.
class MemoryQueue : public toggle::EventQueue {
 public:
  void send(const std::string& body) {
    std::lock_guard lock(mutex_);
    visible_.push_back({"m" + std::to_string(next_++), body, 0});
    wake_.notify_all();
  }
  std::vector<Message> receive(std::size_t max, std::chrono::milliseconds wait) override {
    std::unique_lock lock(mutex_);
    ++receives_;
    wake_.wait_for(lock, wait, [&] { return interrupted_ || !visible_.empty(); });
    std::vector<Message> out;
    while (!interrupted_ && !visible_.empty() && out.size() < max) {
      Entry e = visible_.front();
      visible_.pop_front();
      e.deliveries++;
      std::string handle = e.id + "/" + std::to_string(e.deliveries);
      held_[handle] = e;
      out.push_back({handle, e.body, e.deliveries});
    }
    return out;
  }
  void ack(const std::vector<std::string>& handles) override {
    std::lock_guard lock(mutex_);
    for (const auto& h : handles) acked_ += held_.erase(h);
  }
  void release(const std::vector<std::string>& handles) override {
    std::lock_guard lock(mutex_);
    for (const auto& h : handles) {
      auto it = held_.find(h);
      if (it == held_.end()) continue;
      visible_.push_back(it->second);
      held_.erase(it);
      ++released_;
    }
    wake_.notify_all();
  }
  void dead_letter(const std::string& handle, const std::string& reason) override {
    std::lock_guard lock(mutex_);
    auto it = held_.find(handle);
    if (it == held_.end()) return;
    dead_.push_back({it->second.body, reason});
    held_.erase(it);
  }
  std::string name() const override { return "memory"; }
  void interrupt() override {
    std::lock_guard lock(mutex_);
    interrupted_ = true;
    wake_.notify_all();
  }

  std::size_t acked() {
    std::lock_guard lock(mutex_);
    return acked_;
  }
  std::size_t released() {
    std::lock_guard lock(mutex_);
    return released_;
  }
  std::size_t receives() {
    std::lock_guard lock(mutex_);
    return receives_;
  }
  std::size_t waiting() {
    std::lock_guard lock(mutex_);
    return visible_.size() + held_.size();
  }
  std::vector<std::pair<std::string, std::string>> dead() {
    std::lock_guard lock(mutex_);
    return dead_;
  }

 private:
  struct Entry {
    std::string id, body;
    int deliveries;
  };
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> visible_;
  std::map<std::string, Entry> held_;
  std::vector<std::pair<std::string, std::string>> dead_;
  std::size_t acked_ = 0, released_ = 0, receives_ = 0;
  int next_ = 0;
  bool interrupted_ = false;
};

class MemoryStore : public toggle::EventStore {
 public:
  std::size_t store(const std::vector<Event>& events) override {
    std::lock_guard lock(mutex_);
    if (down_) throw toggle::Error::unavailable("store_unavailable", "the store is down");
    for (const auto& e : events)
      if (refused_.count(e.event_id)) throw toggle::Error::invalid("event_not_storable", "refused " + e.event_id);
    std::size_t added = 0;
    for (const auto& e : events) added += events_.emplace(e.event_id, e).second;
    return added;
  }
  std::vector<Event> recent(const std::optional<std::string>&, std::size_t) override { return {}; }
  Summary summary(const std::string&) override { return {}; }
  std::string readiness() override {
    std::lock_guard lock(mutex_);
    return down_ ? "down" : "";
  }

  void set_down(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  void refuse(const std::string& id) {
    std::lock_guard lock(mutex_);
    refused_.insert(id);
  }
  std::size_t size() {
    std::lock_guard lock(mutex_);
    return events_.size();
  }
  bool has(const std::string& id) {
    std::lock_guard lock(mutex_);
    return events_.count(id) > 0;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, Event> events_;
  std::set<std::string> refused_;
  bool down_ = false;
};

std::string message(const std::string& id, const std::string& user = "u") {
  return R"({"event_id":")" + id + R"(","user_id":")" + user +
         R"(","flag_name":"f","result":true,"timestamp":"2026-11-30T13:00:00Z"})";
}

toggle::analytics::ConsumerOptions quick() {
  toggle::analytics::ConsumerOptions o;
  o.receivers = 2;
  o.storers = 2;
  o.max_batch = 50;
  o.wait = 20000ms;  // a long poll: stop() must not wait for it
  o.retry_min = 20ms;
  o.retry_max = 200ms;
  return o;
}

TEST(EventConsumer, StoresEveryEventOnceThenAcknowledges) {
  MemoryQueue queue;
  MemoryStore store;
  toggle::analytics::EventConsumer consumer(queue, store, quick());
  consumer.start();
  for (int i = 0; i < 300; ++i) queue.send(message("e" + std::to_string(i)));
  for (int i = 0; i < 30; ++i) queue.send(message("e" + std::to_string(i)));  // sent twice by the producer
  EXPECT_TRUE(eventually([&] { return queue.acked() == 330; }));
  EXPECT_EQ(store.size(), 300u);
  EXPECT_EQ(queue.released(), 0u);
  consumer.stop();
}

TEST(EventConsumer, APoisonMessageGoesToTheDeadLetterQueueAtOnceAndTheRestFlow) {
  MemoryQueue queue;
  MemoryStore store;
  toggle::analytics::EventConsumer consumer(queue, store, quick());
  consumer.start();
  queue.send(message("before"));
  queue.send("{not json");
  queue.send(R"({"user_id":"u","flag_name":"f","result":"maybe","timestamp":"2026-11-30T13:00:00Z"})");
  queue.send(message("after"));
  EXPECT_TRUE(eventually([&] { return store.has("before") && store.has("after") && queue.dead().size() == 2; }));
  auto dead = queue.dead();
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].first, "{not json");  // the body as it came
  EXPECT_EQ(dead[0].second, "the message is not JSON");
  EXPECT_NE(dead[1].second.find("result"), std::string::npos) << dead[1].second;
  EXPECT_TRUE(eventually([&] { return queue.waiting() == 0; }));
  consumer.stop();
}

TEST(EventConsumer, AMessageWithoutAnIdIsStoredOnceUnderItsContentId) {
  MemoryQueue queue;
  MemoryStore store;
  toggle::analytics::EventConsumer consumer(queue, store, quick());
  consumer.start();
  const char* original = R"({"user_id":"u1","flag_name":"x","result":true,"timestamp":"2025-06-11T17:03:07.123456789Z"})";
  queue.send(original);
  queue.send(original);
  EXPECT_TRUE(eventually([&] { return queue.acked() == 2; }));
  EXPECT_EQ(store.size(), 1u);
  EXPECT_TRUE(store.has(toggle::analytics::parse_event_message(original).event_id));
  consumer.stop();
}

TEST(EventConsumer, AStoreOutagePausesReceivingWithoutABusyLoopAndNothingIsLost) {
  MemoryQueue queue;
  MemoryStore store;
  toggle::analytics::EventConsumer consumer(queue, store, quick());
  store.set_down(true);
  consumer.start();
  for (int i = 0; i < 100; ++i) queue.send(message("o" + std::to_string(i)));
  EXPECT_TRUE(eventually([&] { return queue.released() > 0; }));
  // Paused: the receivers wait for the store instead of polling (a few polls were under way).
  std::this_thread::sleep_for(300ms);
  std::size_t receives = queue.receives();
  std::this_thread::sleep_for(500ms);
  EXPECT_LE(queue.receives(), receives + 2u);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(queue.acked(), 0u);
  store.set_down(false);
  EXPECT_TRUE(eventually([&] { return store.size() == 100 && queue.acked() == 100; }));
  EXPECT_EQ(queue.waiting(), 0u);
  consumer.stop();
}

TEST(EventConsumer, AnEventTheStoreRefusesIsHeldBackAloneAndTheOthersAreStored) {
  MemoryQueue queue;
  MemoryStore store;
  store.refuse("bad");
  toggle::analytics::ConsumerOptions options = quick();
  options.receivers = 1;
  toggle::analytics::EventConsumer consumer(queue, store, options);
  for (int i = 0; i < 5; ++i) queue.send(message("ok" + std::to_string(i)));
  queue.send(message("bad"));
  consumer.start();
  EXPECT_TRUE(eventually([&] { return store.size() == 5 && queue.acked() == 5; }));
  // The refused one goes back to the queue, again and again (SQS's redrive moves it to the DLQ).
  EXPECT_TRUE(eventually([&] { return queue.released() >= 2; }));
  EXPECT_FALSE(store.has("bad"));
  consumer.stop();
  EXPECT_EQ(queue.waiting(), 1u);
}

TEST(EventConsumer, StopEndsALongPollAtOnceAndStoresWhatWasReceived) {
  MemoryQueue queue;
  MemoryStore store;
  toggle::analytics::EventConsumer consumer(queue, store, quick());
  consumer.start();
  for (int i = 0; i < 20; ++i) queue.send(message("s" + std::to_string(i)));
  EXPECT_TRUE(eventually([&] { return queue.acked() == 20; }));
  // The receivers are in 20 s polls now; stopping does not wait for them (the test's timeout would).
  consumer.stop_receiving();
  consumer.stop();
  EXPECT_EQ(store.size(), 20u);
  queue.send(message("later"));  // not received any more
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(store.has("later"));
}

TEST(EventConsumer, StoppingWhileTheStoreIsDownHandsEverythingBack) {
  MemoryQueue queue;
  MemoryStore store;
  store.set_down(true);
  toggle::analytics::EventConsumer consumer(queue, store, quick());
  consumer.start();
  for (int i = 0; i < 10; ++i) queue.send(message("d" + std::to_string(i)));
  EXPECT_TRUE(eventually([&] { return queue.released() > 0; }));
  consumer.stop();
  EXPECT_EQ(queue.waiting(), 10u);  // all still in the queue (none held, none lost)
  EXPECT_EQ(store.size(), 0u);
}

}  // namespace
