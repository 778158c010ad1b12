// The Service Bus client's development-emulator mode (UseDevelopmentEmulator=true: plain AMQP,
// no TLS, no CBS, the queue name used as the AMQP address) against RabbitMQ's AMQP 1.0 plugin,
// the run's shared broker (ctest fixture `rabbitmq`). Each test uses a queue of its own.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <set>

#include "azure_servers.hpp"
#include "toggle/cloud/servicebus_client.hpp"

using namespace toggle::cloud;
using namespace std::chrono_literals;

namespace {

ServiceBusConnectionString rabbitmq() {
  return parse_servicebus_connection_string(testsupport::shared_server("rabbitmq.sh", "TOGGLE_TEST_RABBITMQ_STATE"));
}

// RabbitMQ's address of a new queue (declared when a receiver attaches).
std::string new_queue() {
  std::random_device random;
  return "/queue/togglemaster-test-" + std::to_string(random());
}

std::vector<OutgoingMessage> batch(const std::string& prefix, int n) {
  std::vector<OutgoingMessage> out;
  for (int i = 0; i < n; ++i) out.push_back({prefix + "-" + std::to_string(i), R"({"n":)" + std::to_string(i) + "}"});
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

}  // namespace

TEST(ServiceBusRabbitMq, SendReceiveComplete) {
  auto queue = new_queue();
  ServiceBusReceiver receiver(rabbitmq(), queue);
  receiver.wait_ready(30s);
  ServiceBusSender sender(rabbitmq(), queue);
  auto result = sender.send(batch("m", 150), 30s);  // more than any one grant of credit
  ASSERT_TRUE(result.ok()) << result.failures[0].reason;
  std::set<std::string> ids;
  for (auto& m : receive_all(receiver, 150)) {
    ids.insert(m.message_id);
    EXPECT_EQ(m.content_type, "application/json");
    EXPECT_EQ(m.body.substr(0, 5), R"({"n":)");
    receiver.complete(m);
  }
  EXPECT_EQ(ids.size(), 150u);
  EXPECT_TRUE(receiver.receive(1, 500ms).empty());
}

TEST(ServiceBusRabbitMq, AbandonedMessageComesBack) {
  auto queue = new_queue();
  ServiceBusReceiver receiver(rabbitmq(), queue);
  receiver.wait_ready(30s);
  ServiceBusSender sender(rabbitmq(), queue);
  ASSERT_TRUE(sender.send(batch("again", 1), 30s).ok());
  auto first = receive_all(receiver, 1);
  ASSERT_EQ(first.size(), 1u);
  receiver.abandon(first[0]);
  auto second = receive_all(receiver, 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].message_id, "again-0");
  receiver.complete(second[0]);
}

TEST(ServiceBusRabbitMq, UnsettledMessagesReturnWhenTheReceiverGoes) {
  auto queue = new_queue();
  auto receiver = std::make_unique<ServiceBusReceiver>(rabbitmq(), queue);
  receiver->wait_ready(30s);
  ServiceBusSender sender(rabbitmq(), queue);
  ASSERT_TRUE(sender.send(batch("held", 2), 30s).ok());
  ASSERT_EQ(receive_all(*receiver, 2).size(), 2u);
  receiver.reset();  // never settled: at least once means they are delivered again
  ServiceBusReceiver next(rabbitmq(), queue);
  auto again = receive_all(next, 2);
  ASSERT_EQ(again.size(), 2u);
  for (auto& m : again) next.complete(m);
}

TEST(ServiceBusRabbitMq, DeadLetteredMessageLeavesTheQueue) {
  // RabbitMQ has no dead-letter queue unless one is configured: a rejected message is dropped.
  auto queue = new_queue();
  ServiceBusReceiver receiver(rabbitmq(), queue);
  receiver.wait_ready(30s);
  ServiceBusSender sender(rabbitmq(), queue);
  ASSERT_TRUE(sender.send(batch("poison", 1), 30s).ok());
  auto got = receive_all(receiver, 1);
  ASSERT_EQ(got.size(), 1u);
  receiver.dead_letter(got[0], "ParseError", "not an event");
  EXPECT_TRUE(receiver.receive(1, 1s).empty());
}

TEST(ServiceBusRabbitMq, NothingListeningIsUnreachable) {
  auto cs = parse_servicebus_connection_string("Endpoint=sb://127.0.0.1:1/;UseDevelopmentEmulator=true");
  ServiceBusSender sender(cs, "/queue/none");
  try {
    sender.wait_ready(2s);
    FAIL() << "ready without a broker";
  } catch (const ServiceBusError& e) {
    EXPECT_EQ(e.kind(), ServiceBusErrorKind::unreachable) << e.what();
  }
  auto result = sender.send(batch("x", 1), 5s);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].kind, ServiceBusErrorKind::unreachable);
  EXPECT_TRUE(result.failures[0].reason.find("127.0.0.1:1") != std::string::npos) << result.failures[0].reason;
}
