// ServiceBusEventPublisher and ServiceBusEventQueue in the development-emulator mode (plain AMQP,
// no TLS, no CBS; the queue name is the AMQP address) against RabbitMQ's AMQP 1.0 plugin, the
// run's shared broker (ctest fixture `rabbitmq`). Each test uses a queue of its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "azure_servers.hpp"
#include "toggle/cloud/servicebus_events.hpp"
#include "toggle/core/crypto.hpp"

using namespace toggle;
using namespace toggle::cloud;
using namespace std::chrono_literals;

namespace {

ServiceBusConnectionString rabbitmq() {
  return parse_servicebus_connection_string(testsupport::shared_server("rabbitmq.sh", "TOGGLE_TEST_RABBITMQ_STATE"));
}

std::string new_queue() {
  std::random_device random;
  return "/queue/togglemaster-events-" + std::to_string(random());
}

std::vector<Event> events(int n) {
  std::vector<Event> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({crypto::uuid_v7(), "user-" + std::to_string(i), "flag-" + std::to_string(i % 3), i % 2 == 0,
                   "2026-11-30T13:00:00.123Z", i % 5 == 0 ? "blue" : "", i % 5 == 0 ? "SPLIT" : ""});
  }
  return out;
}

std::vector<EventQueue::Message> receive_all(EventQueue& queue, std::size_t count) {
  std::vector<EventQueue::Message> out;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (out.size() < count && std::chrono::steady_clock::now() < until) {
    for (auto& m : queue.receive(count - out.size(), 1s)) out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

TEST(ServiceBusEventsRabbitMq, RoundTripOfABatch) {
  auto queue_name = new_queue();
  ServiceBusEventQueue queue(rabbitmq(), queue_name);  // RabbitMQ declares the queue when a receiver attaches
  auto until = std::chrono::steady_clock::now() + 30s;
  while (queue.readiness() != "" && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(queue.readiness(), "");
  ServiceBusEventPublisher publisher(rabbitmq(), queue_name);
  auto sent = events(150);
  ASSERT_EQ(publisher.publish(sent, 30s), EventPublisher::Outcome::delivered);
  EXPECT_EQ(publisher.readiness(), "");

  auto got = receive_all(queue, sent.size());
  ASSERT_EQ(got.size(), sent.size());
  std::vector<Event> received;
  std::vector<std::string> handles;
  for (const auto& m : got) {
    received.push_back(parse_event(nlohmann::json::parse(m.body)));
    handles.push_back(m.handle);
  }
  auto by_id = [](const Event& a, const Event& b) { return a.event_id < b.event_id; };
  std::sort(received.begin(), received.end(), by_id);
  std::sort(sent.begin(), sent.end(), by_id);
  EXPECT_EQ(received, sent);

  // Released (the store is down): delivered again; then acknowledged: gone.
  queue.release({handles[0], handles[1]});
  handles.erase(handles.begin(), handles.begin() + 2);
  auto again = receive_all(queue, 2);
  ASSERT_EQ(again.size(), 2u);
  for (auto& m : again) handles.push_back(m.handle);
  queue.ack(handles);
  EXPECT_EQ(queue.in_flight(), 0u);
  EXPECT_TRUE(queue.receive(1, 500ms).empty());
}

TEST(ServiceBusEventsRabbitMq, DeadLetteredMessageLeavesTheQueue) {
  // RabbitMQ has no dead-letter queue unless one is configured: the rejected message is dropped.
  auto queue_name = new_queue();
  ServiceBusEventQueue queue(rabbitmq(), queue_name);
  ServiceBusEventPublisher publisher(rabbitmq(), queue_name);
  auto until = std::chrono::steady_clock::now() + 30s;
  while (queue.readiness() != "" && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
  ASSERT_EQ(publisher.publish(events(1), 30s), EventPublisher::Outcome::delivered);
  auto got = receive_all(queue, 1);
  ASSERT_EQ(got.size(), 1u);
  queue.dead_letter(got[0].handle, "invalid_event: a test");
  EXPECT_TRUE(queue.receive(1, 1s).empty());
  EXPECT_EQ(queue.in_flight(), 0u);
}

// A wait longer than the test's own ctest timeout: if receive() held out for all `max` messages,
// or an interrupt did not end a waiting receive(), the test would time out instead of passing.
constexpr auto kLongerThanTheTest = std::chrono::hours(1);

TEST(ServiceBusEventsRabbitMq, ReceiveReturnsWhatCameWithoutWaitingForMax) {
  auto queue_name = new_queue();
  ServiceBusEventQueue queue(rabbitmq(), queue_name);
  auto until = std::chrono::steady_clock::now() + 30s;
  while (queue.readiness() != "" && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
  ServiceBusEventPublisher publisher(rabbitmq(), queue_name);
  ASSERT_EQ(publisher.publish(events(1), 30s), EventPublisher::Outcome::delivered);
  auto got = queue.receive(10, kLongerThanTheTest);  // one event, as a quiet platform sends it
  ASSERT_EQ(got.size(), 1u);
  queue.ack({got[0].handle});
}

TEST(ServiceBusEventsRabbitMq, InterruptEndsAWaitingReceiveAndLaterOnes) {
  ServiceBusEventQueue queue(rabbitmq(), new_queue());
  std::vector<EventQueue::Message> got{{"not", "received", 1}};
  std::thread waiting([&] { got = queue.receive(10, kLongerThanTheTest); });
  std::this_thread::sleep_for(200ms);  // most likely waiting by now; either way it must return
  queue.interrupt();  // what analytics-service does on SIGTERM
  waiting.join();
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(queue.receive(10, kLongerThanTheTest).empty());
}
