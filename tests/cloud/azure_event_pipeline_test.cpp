// The three Azure seams together, as the services will use them: ServiceBusEventPublisher ->
// the Service Bus stand-in (TLS, CBS) -> two consumers, each a ServiceBusEventQueue and a
// CosmosEventStore on azurite (ctest fixture `azurite`). A batch published twice and a consumer
// that dies between storing and acknowledging still leave every event stored and counted once.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "azure_servers.hpp"
#include "toggle/cloud/cosmos_event_store.hpp"
#include "toggle/cloud/servicebus_events.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/error.hpp"

using namespace toggle;
using namespace toggle::cloud;
using namespace std::chrono_literals;

namespace {

constexpr const char* kQueue = "evaluation-events";

struct Consumed {
  std::size_t messages = 0, added = 0;
};

// What analytics' consumer does with one received batch: parse, store, then acknowledge; a
// message that is not an event goes to the dead-letter queue.
Consumed consume(EventQueue& queue, EventStore& store, bool acknowledge = true) {
  auto messages = queue.receive(50, 500ms);
  std::vector<Event> events;
  std::vector<std::string> handles;
  for (const auto& m : messages) {
    try {
      events.push_back(parse_event(nlohmann::json::parse(m.body), "message", false));
      handles.push_back(m.handle);
    } catch (const std::exception& e) {
      queue.dead_letter(m.handle, e.what());
    }
  }
  std::size_t added = store.store(events);
  if (acknowledge) queue.ack(handles);
  return {messages.size(), added};
}

}  // namespace

TEST(AzurePipeline, EveryEventOnceDespiteAResendAndAConsumerThatDies) {
  testsupport::ScriptedServer standin("servicebus_standin.sh");
  ::setenv("SSL_CERT_FILE", standin.path("ca.pem").c_str(), 1);
  auto bus = parse_servicebus_connection_string(standin.read("connection-string"));
  auto tables = parse_table_connection_string(testsupport::shared_server("azurite.sh", "TOGGLE_TEST_AZURITE_STATE"));
  std::random_device random;
  std::string table = "pipe" + std::to_string(random());
  create_cosmos_event_tables(tables, table);

  std::vector<Event> sent;
  for (int i = 0; i < 400; ++i) {
    sent.push_back({crypto::uuid_v7(), "user-" + std::to_string(i), "flag-" + std::to_string(i % 4), i % 4 != 0,
                    "2026-11-30T13:00:00.000Z", "", ""});
  }
  ServiceBusEventPublisher publisher(bus, kQueue);
  for (std::size_t from = 0; from < sent.size(); from += 50) {
    std::vector<Event> batch(sent.begin() + from, sent.begin() + from + 50);
    ASSERT_EQ(publisher.publish(batch, 10s), EventPublisher::Outcome::delivered);
  }
  // A batch sent again, as after a confirmation lost on the way back.
  ASSERT_EQ(publisher.publish(std::vector<Event>(sent.begin(), sent.begin() + 50), 10s),
            EventPublisher::Outcome::delivered);

  CosmosEventStore store_a(tables, table), store_b(tables, table);
  std::atomic<std::size_t> added{0};
  // Consumer A stores a batch and dies before acknowledging it: its messages come back.
  {
    ServiceBusEventQueue dying(bus, kQueue);
    std::size_t first = 0;
    for (int i = 0; i < 60 && first == 0; ++i) first = consume(dying, store_a, false).added;
    ASSERT_GT(first, 0u);
    added += first;
  }
  // Then both consume side by side until the queue has been empty for a while.
  auto run = [&](EventStore& store) {
    ServiceBusEventQueue queue(bus, kQueue);
    auto quiet_since = std::chrono::steady_clock::now();
    auto until = quiet_since + 60s;
    while (std::chrono::steady_clock::now() - quiet_since < 3s && std::chrono::steady_clock::now() < until) {
      auto n = consume(queue, store);
      added += n.added;
      if (n.messages > 0) quiet_since = std::chrono::steady_clock::now();
    }
  };
  std::thread a(run, std::ref(store_a)), b(run, std::ref(store_b));
  a.join();
  b.join();

  EXPECT_EQ(added.load(), sent.size());
  std::int64_t counted = 0;
  for (int f = 0; f < 4; ++f) {
    auto s = store_a.summary("flag-" + std::to_string(f));
    counted += s.true_count + s.false_count;
    EXPECT_EQ(f == 0 ? s.false_count : s.true_count, 100) << "flag-" << f;
  }
  EXPECT_EQ(counted, 400);
  std::set<std::string> stored, expected;
  for (const auto& e : store_b.recent(std::nullopt, 1000)) stored.insert(e.event_id);
  for (const auto& e : sent) expected.insert(e.event_id);
  EXPECT_EQ(stored, expected);
  // The resent batch and the dead consumer's batch were found stored, not stored again.
  EXPECT_GE(store_a.stats().duplicates + store_b.stats().duplicates, 50u);
}
