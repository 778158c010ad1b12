// ServiceBusEventPublisher and ServiceBusEventQueue on the production path (TLS, SASL, CBS
// tokens) against the project's Service Bus stand-in: the round trip of events, message ids,
// poison messages to the dead-letter queue, abandon until the max delivery count, outcomes of
// failed and refused sends. Each test starts a stand-in of its own.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "azure_servers.hpp"
#include "toggle/cloud/servicebus_events.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/error.hpp"

using namespace toggle;
using namespace toggle::cloud;
using namespace std::chrono_literals;
using testsupport::ScriptedServer;

namespace {

constexpr const char* kQueue = "evaluation-events";

class StandIn {
 public:
  explicit StandIn(std::vector<std::string> args = {}) : server_("servicebus_standin.sh", args) {
    ::setenv("SSL_CERT_FILE", server_.path("ca.pem").c_str(), 1);  // trust the stand-in's test CA
  }
  ServiceBusConnectionString connection() const {
    return parse_servicebus_connection_string(server_.read("connection-string"));
  }
  std::vector<nlohmann::json> events(const std::string& name) const {
    std::vector<nlohmann::json> out;
    std::ifstream in(server_.path("events"));
    for (std::string line; std::getline(in, line);) {
      auto event = nlohmann::json::parse(line, nullptr, false);
      if (event.is_object() && event.value("event", "") == name) out.push_back(event);
    }
    return out;
  }

 private:
  ScriptedServer server_;
};

std::vector<Event> events(int n, const std::string& flag = "flag-a") {
  std::vector<Event> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(
        {crypto::uuid_v7(), "user-" + std::to_string(i), flag, i % 2 == 0, "2026-11-30T13:00:00.123Z", "", ""});
  }
  return out;
}

// Receives until `count` messages came (or 30 s passed).
std::vector<EventQueue::Message> receive_all(EventQueue& queue, std::size_t count) {
  std::vector<EventQueue::Message> out;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (out.size() < count && std::chrono::steady_clock::now() < until) {
    for (auto& m : queue.receive(count - out.size(), 1s)) out.push_back(std::move(m));
  }
  return out;
}

std::vector<ReceivedMessage> receive_all(ServiceBusReceiver& receiver, std::size_t count) {
  std::vector<ReceivedMessage> out;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (out.size() < count && std::chrono::steady_clock::now() < until) {
    for (auto& m : receiver.receive(count - out.size(), 1s)) out.push_back(std::move(m));
  }
  return out;
}

// As analytics reads a message: an event without an id (an older producer) gets its content id.
Event parse(const std::string& body) { return parse_event(nlohmann::json::parse(body), "event", false); }

}  // namespace

TEST(ServiceBusEvents, PublishedEventsComeOutOfTheQueueAsTheyWent) {
  StandIn standin;
  ServiceBusEventPublisher publisher(standin.connection(), kQueue);
  ServiceBusEventQueue queue(standin.connection(), kQueue);
  EXPECT_EQ(publisher.name(), "servicebus");
  EXPECT_EQ(queue.name(), "servicebus");
  auto sent = events(25);
  sent[3].variant = "blue";
  sent[3].reason = "SPLIT";
  ASSERT_EQ(publisher.publish(sent, 10s), EventPublisher::Outcome::delivered);
  EXPECT_EQ(publisher.readiness(), "");

  auto got = receive_all(queue, sent.size());
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_EQ(queue.readiness(), "");
  EXPECT_EQ(queue.in_flight(), sent.size());
  std::vector<Event> received;
  std::vector<std::string> handles;
  for (const auto& m : got) {
    EXPECT_EQ(m.delivery_count, 1);
    received.push_back(parse(m.body));
    handles.push_back(m.handle);
  }
  std::sort(received.begin(), received.end(), [](auto& a, auto& b) { return a.event_id < b.event_id; });
  std::sort(sent.begin(), sent.end(), [](auto& a, auto& b) { return a.event_id < b.event_id; });
  EXPECT_EQ(received, sent);
  queue.ack(handles);
  EXPECT_EQ(queue.in_flight(), 0u);
  EXPECT_TRUE(queue.receive(1, 500ms).empty());
  // Acknowledged means completed: gone from the queue for good.
  for (int i = 0; i < 50 && standin.events("completed").size() < sent.size(); ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(standin.events("completed").size(), sent.size());
  EXPECT_EQ(queue.depth(), std::nullopt);

  // Settling twice is a caller's bug, said clearly.
  try {
    queue.ack({handles[0]});
    FAIL() << "acknowledged a settled message";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid);
    EXPECT_EQ(e.code(), "unknown_message_handle");
  }
}

TEST(ServiceBusEvents, TheMessageIdIsTheEventIdAndTheBodyTheContractsJson) {
  StandIn standin;
  ServiceBusEventPublisher publisher(standin.connection(), kQueue);
  auto sent = events(2);
  Event old_producer = sent[1];
  old_producer.event_id.clear();  // a message without an id gets the one its content gives
  ASSERT_EQ(publisher.publish({sent[0], old_producer}, 10s), EventPublisher::Outcome::delivered);

  ServiceBusReceiver receiver(standin.connection(), kQueue);
  auto got = receive_all(receiver, 2);
  ASSERT_EQ(got.size(), 2u);
  std::map<std::string, std::string> bodies;
  for (auto& m : got) {
    EXPECT_EQ(m.content_type, "application/json");
    bodies[m.message_id] = m.body;
    receiver.complete(m);
  }
  std::string expected;
  append_json(expected, sent[0]);
  EXPECT_EQ(bodies[sent[0].event_id], expected);
  std::string content_id = content_event_id(old_producer);
  ASSERT_TRUE(bodies.count(content_id)) << "no message with id " << content_id;
  EXPECT_EQ(parse(bodies[content_id]).event_id, content_id);
  // A resend keeps the id: the store sees the same event.
  ASSERT_EQ(publisher.publish({old_producer}, 10s), EventPublisher::Outcome::delivered);
  auto again = receive_all(receiver, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].message_id, content_id);
  receiver.complete(again[0]);
}

TEST(ServiceBusEvents, APoisonMessageGoesToTheDeadLetterQueueAndTheRestFlows) {
  StandIn standin;
  ServiceBusSender raw(standin.connection(), kQueue);
  ASSERT_TRUE(raw.send({{"poison-1", "{\"user_id\":\"u\",\"flag_name\":\"f\"}"}}, 10s).ok());
  ServiceBusEventPublisher publisher(standin.connection(), kQueue);
  auto good = events(2);
  ASSERT_EQ(publisher.publish(good, 10s), EventPublisher::Outcome::delivered);

  ServiceBusEventQueue queue(standin.connection(), kQueue);
  auto got = receive_all(queue, 3);
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> stored;
  std::string reason;
  for (const auto& m : got) {
    try {
      parse(m.body);
      stored.push_back(m.handle);
    } catch (const Error& e) {  // what analytics' consumer does with a message it can never store
      reason = e.what();
      queue.dead_letter(m.handle, reason);
    }
  }
  ASSERT_EQ(stored.size(), 2u);
  queue.ack(stored);
  EXPECT_TRUE(queue.receive(1, 500ms).empty());

  ServiceBusReceiver dead(standin.connection(), servicebus_dead_letter_queue(kQueue));
  auto letters = receive_all(dead, 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].message_id, "poison-1");
  EXPECT_EQ(letters[0].dead_letter_reason, reason);
  EXPECT_NE(reason.find("result"), std::string::npos) << reason;
  dead.complete(letters[0]);
  auto logged = standin.events("dead-lettered");
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_EQ(logged[0]["queue"], kQueue);
}

TEST(ServiceBusEvents, ReleasedMessagesComeBackUntilTheMaxDeliveryCount) {
  StandIn standin({"--queue", kQueue, "--max-delivery-count", "3"});
  ServiceBusEventPublisher publisher(standin.connection(), kQueue);
  ServiceBusEventQueue queue(standin.connection(), kQueue);
  auto sent = events(1);
  ASSERT_EQ(publisher.publish(sent, 10s), EventPublisher::Outcome::delivered);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto got = receive_all(queue, 1);
    ASSERT_EQ(got.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(got[0].delivery_count, attempt);
    EXPECT_EQ(parse(got[0].body), sent[0]);
    queue.release({got[0].handle});  // as when the store is down
  }
  EXPECT_TRUE(queue.receive(1, 1s).empty());
  ServiceBusReceiver dead(standin.connection(), servicebus_dead_letter_queue(kQueue));
  auto letters = receive_all(dead, 1);
  ASSERT_EQ(letters.size(), 1u);
  EXPECT_EQ(letters[0].message_id, sent[0].event_id);
  EXPECT_EQ(letters[0].dead_letter_reason, "MaxDeliveryCountExceeded");
  dead.complete(letters[0]);
}

TEST(ServiceBusEvents, OutcomesOfSendsThatDoNotGoThrough) {
  StandIn standin;
  ServiceBusEventPublisher publisher(standin.connection(), kQueue);
  // Larger than the queue takes: refused for good; the rest of the batch is delivered.
  auto batch = events(2);
  Event huge = batch[0];
  huge.event_id = crypto::uuid_v7();
  huge.user_id = std::string(300 * 1024, 'u');
  EXPECT_EQ(publisher.publish({batch[0], huge, batch[1]}, 10s), EventPublisher::Outcome::rejected);
  ServiceBusEventQueue queue(standin.connection(), kQueue);
  auto got = receive_all(queue, 2);
  EXPECT_EQ(got.size(), 2u);
  for (auto& m : got) queue.ack({m.handle});
  EXPECT_EQ(publisher.publish({}, 10s), EventPublisher::Outcome::delivered);

  // A wrong key: not ready, and a batch fails (kept and retried later), it is not rejected.
  auto wrong = standin.connection();
  wrong.key = "V3ryWrongKeyV3ryWrongKeyV3ryWrongKey0000000=";
  ServiceBusEventPublisher unauthorized(wrong, kQueue);
  EXPECT_EQ(unauthorized.publish(events(1), 3s), EventPublisher::Outcome::failed);
  EXPECT_NE(unauthorized.readiness().find("unauthorized"), std::string::npos) << unauthorized.readiness();
  EXPECT_EQ(unauthorized.readiness().find(wrong.key), std::string::npos);

  // Nothing listening: failed, and the queue's receive says unavailable. The publisher stays
  // ready (evaluation-service spools the events meanwhile); the queue is not.
  auto nowhere = standin.connection();
  nowhere.port = 1;
  ServiceBusEventPublisher unreachable(nowhere, kQueue);
  ServiceBusEventQueue unreachable_queue(nowhere, kQueue);
  EXPECT_EQ(unreachable.publish(events(1), 2s), EventPublisher::Outcome::failed);
  EXPECT_EQ(unreachable.readiness(), "");
  EXPECT_EQ(unreachable.status().last_error_kind, ServiceBusErrorKind::unreachable);
  try {
    for (int i = 0; i < 10; ++i) unreachable_queue.receive(1, 500ms);
    FAIL() << "received from nowhere";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable) << e.what();
  }
  EXPECT_NE(unreachable_queue.readiness(), "");
}
