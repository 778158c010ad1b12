// The Service Bus client on its production path, against the project's stand-in
// (tests/support/servicebus_standin.py): TLS with a test CA, SASL ANONYMOUS, CBS put-token with
// SAS tokens and their renewal, peek-lock with delivery counts, dead-lettering, reconnection.
// Each test starts a stand-in of its own.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "azure_servers.hpp"
#include "toggle/cloud/servicebus_client.hpp"

using namespace toggle::cloud;
using namespace std::chrono_literals;
using testsupport::ScriptedServer;

namespace {

constexpr const char* kQueue = "evaluation-events";

class StandIn {
 public:
  explicit StandIn(std::vector<std::string> args = {}) : server_("servicebus_standin.sh", args) {
    // Proton's OpenSSL trusts the system store, which SSL_CERT_FILE replaces with the test CA.
    ::setenv("SSL_CERT_FILE", server_.path("ca.pem").c_str(), 1);
  }
  ServiceBusConnectionString connection() const {
    return parse_servicebus_connection_string(server_.read("connection-string"));
  }
  // The stand-in's JSON events named `name`.
  std::vector<nlohmann::json> events(const std::string& name) const {
    std::vector<nlohmann::json> out;
    std::ifstream in(server_.path("events"));
    for (std::string line; std::getline(in, line);) {
      auto event = nlohmann::json::parse(line, nullptr, false);
      if (event.is_object() && event.value("event", "") == name) out.push_back(event);
    }
    return out;
  }
  void restart() { server_.run("restart"); }

 private:
  ScriptedServer server_;
};

std::vector<OutgoingMessage> batch(const std::string& prefix, int n) {
  std::vector<OutgoingMessage> out;
  for (int i = 0; i < n; ++i) {
    std::string id = prefix + "-" + std::to_string(i);
    out.push_back({id, R"({"event_id":")" + id + R"(","flag_name":"f","user_id":"u","result":true})"});
  }
  return out;
}

// Receives until `count` messages came (or 30 s passed).
std::vector<ReceivedMessage> receive_all(ServiceBusReceiver& receiver, std::size_t count) {
  std::vector<ReceivedMessage> out;
  auto until = std::chrono::steady_clock::now() + 30s;
  while (out.size() < count && std::chrono::steady_clock::now() < until) {
    for (auto& m : receiver.receive(count - out.size(), 1s)) out.push_back(std::move(m));
  }
  return out;
}

ServiceBusErrorKind ready_error(ServiceBusSender& sender) {
  try {
    sender.wait_ready(30s);
  } catch (const ServiceBusError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "the sender became ready";
  return ServiceBusErrorKind::closed;
}

}  // namespace

TEST(ServiceBusStandIn, SendsAndReceivesOverTlsWithCbs) {
  StandIn standin;
  ServiceBusSender sender(standin.connection(), kQueue);
  ServiceBusReceiver receiver(standin.connection(), kQueue);
  sender.wait_ready(30s);
  receiver.wait_ready(30s);
  auto result = sender.send(batch("a", 3), 10s);
  ASSERT_TRUE(result.ok()) << result.failures[0].reason;
  auto got = receive_all(receiver, 3);
  ASSERT_EQ(got.size(), 3u);
  std::set<std::string> ids;
  for (const auto& m : got) {
    ids.insert(m.message_id);
    EXPECT_EQ(m.content_type, "application/json");
    EXPECT_EQ(m.delivery_count, 0u);
    EXPECT_EQ(nlohmann::json::parse(m.body)["event_id"], m.message_id);
    receiver.complete(m);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"a-0", "a-1", "a-2"}));
  // Each connection put a token for its audience, and the broker accepted it.
  auto tokens = standin.events("put-token");
  ASSERT_GE(tokens.size(), 2u);
  for (const auto& t : tokens) {
    EXPECT_TRUE(t["accepted"].get<bool>()) << t.dump();
    EXPECT_EQ(t["audience"], std::string("sb://localhost/") + kQueue);
  }
  // Completed means gone: nothing is delivered again.
  for (int i = 0; i < 50 && standin.events("completed").size() < 3; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(standin.events("completed").size(), 3u);
  EXPECT_TRUE(receiver.receive(1, 500ms).empty());
  EXPECT_TRUE(sender.status().ready);
  EXPECT_EQ(sender.status().connections, 1u);
}

TEST(ServiceBusStandIn, AbandonRaisesTheDeliveryCountUntilTheDeadLetterQueue) {
  StandIn standin({"--queue", kQueue, "--max-delivery-count", "3"});
  ServiceBusSender sender(standin.connection(), kQueue);
  ServiceBusReceiver receiver(standin.connection(), kQueue);
  ASSERT_TRUE(sender.send(batch("poison", 1), 10s).ok());
  for (std::uint32_t attempt = 0; attempt < 3; ++attempt) {
    auto got = receive_all(receiver, 1);
    ASSERT_EQ(got.size(), 1u) << "attempt " << attempt;
    EXPECT_EQ(got[0].delivery_count, attempt);
    receiver.abandon(got[0]);
  }
  EXPECT_TRUE(receiver.receive(1, 1s).empty());
  ServiceBusReceiver dead(standin.connection(), servicebus_dead_letter_queue(kQueue));
  auto dead_letters = receive_all(dead, 1);
  ASSERT_EQ(dead_letters.size(), 1u);
  EXPECT_EQ(dead_letters[0].message_id, "poison-0");
  EXPECT_EQ(dead_letters[0].dead_letter_reason, "MaxDeliveryCountExceeded");
  dead.complete(dead_letters[0]);
  for (const auto& a : standin.events("abandoned")) EXPECT_TRUE(a["delivery_failed"].get<bool>()) << a.dump();
}

TEST(ServiceBusStandIn, DeadLetterCarriesTheReason) {
  StandIn standin;
  ServiceBusSender sender(standin.connection(), kQueue);
  ServiceBusReceiver receiver(standin.connection(), kQueue);
  ASSERT_TRUE(sender.send({{"bad-1", "not json"}}, 10s).ok());
  auto got = receive_all(receiver, 1);
  ASSERT_EQ(got.size(), 1u);
  receiver.dead_letter(got[0], "ParseError", "the body is not JSON");
  ServiceBusReceiver dead(standin.connection(), servicebus_dead_letter_queue(kQueue));
  auto dead_letters = receive_all(dead, 1);
  ASSERT_EQ(dead_letters.size(), 1u);
  EXPECT_EQ(dead_letters[0].body, "not json");
  EXPECT_EQ(dead_letters[0].dead_letter_reason, "ParseError");
  auto events = standin.events("dead-lettered");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["reason"], "ParseError");
}

TEST(ServiceBusStandIn, RenewsTheTokenBeforeItExpires) {
  StandIn standin;
  ServiceBusOptions options;
  options.token_lifetime = 7s;  // renewed every 4.5 s; the stand-in detaches links whose token expired
  ServiceBusSender sender(standin.connection(), kQueue, options);
  ServiceBusReceiver receiver(standin.connection(), kQueue, options);
  sender.wait_ready(30s);
  int sent = 0;
  auto until = std::chrono::steady_clock::now() + 60s;
  // Several lifetimes of the first token, sending and receiving all along.
  while ((sender.status().token_renewals < 3 || receiver.status().token_renewals < 3) &&
         std::chrono::steady_clock::now() < until) {
    auto result = sender.send(batch("r" + std::to_string(sent), 1), 10s);
    ASSERT_TRUE(result.ok()) << result.failures[0].reason;
    auto got = receive_all(receiver, 1);
    ASSERT_EQ(got.size(), 1u);
    receiver.complete(got[0]);
    ++sent;
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_GE(sender.status().token_renewals, 3u);
  EXPECT_GE(receiver.status().token_renewals, 3u);
  EXPECT_EQ(sender.status().connections, 1u);  // never dropped for an expired token
  EXPECT_EQ(receiver.status().connections, 1u);
  EXPECT_TRUE(standin.events("token-expired").empty());
  for (const auto& t : standin.events("put-token")) EXPECT_TRUE(t["accepted"].get<bool>()) << t.dump();
}

TEST(ServiceBusStandIn, WrongKeyIsUnauthorizedAndNeverShown) {
  StandIn standin;
  auto cs = standin.connection();
  cs.key = "V3ryWrongKeyV3ryWrongKeyV3ryWrongKey0000000=";
  ServiceBusSender sender(cs, kQueue);
  try {
    sender.wait_ready(30s);
    FAIL() << "ready with a wrong key";
  } catch (const ServiceBusError& e) {
    EXPECT_EQ(e.kind(), ServiceBusErrorKind::unauthorized) << e.what();
    EXPECT_FALSE(e.retryable());
    std::string message = e.what();
    EXPECT_NE(message.find("401"), std::string::npos) << message;
    EXPECT_EQ(message.find(cs.key), std::string::npos) << message;
  }
  // While it cannot connect, a batch fails at once with the reason.
  auto result = sender.send(batch("x", 2), 10s);
  ASSERT_EQ(result.failures.size(), 2u);
  EXPECT_EQ(result.failures[0].kind, ServiceBusErrorKind::unauthorized);
  EXPECT_EQ(standin.events("put-token").at(0)["accepted"], false);

  auto wrong_name = standin.connection();
  wrong_name.key_name = "SendOnly";
  ServiceBusSender other(wrong_name, kQueue);
  EXPECT_EQ(ready_error(other), ServiceBusErrorKind::unauthorized);
}

TEST(ServiceBusStandIn, UntrustedCertificateIsATlsError) {
  StandIn standin;
  ::setenv("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt", 1);  // public CAs, not the test CA
  ServiceBusSender sender(standin.connection(), kQueue);
  EXPECT_EQ(ready_error(sender), ServiceBusErrorKind::tls);
}

TEST(ServiceBusStandIn, UnreachableAndUnknownQueue) {
  StandIn standin;
  ServiceBusSender unknown(standin.connection(), "no-such-queue");
  EXPECT_EQ(ready_error(unknown), ServiceBusErrorKind::not_found);

  auto cs = standin.connection();
  cs.port = 1;  // nothing listens there
  ServiceBusSender nowhere(cs, kQueue);
  try {
    nowhere.wait_ready(2s);
    FAIL() << "ready without a broker";
  } catch (const ServiceBusError& e) {
    EXPECT_EQ(e.kind(), ServiceBusErrorKind::unreachable) << e.what();
    EXPECT_TRUE(e.retryable());
  }
}

TEST(ServiceBusStandIn, TooLargeMessageIsRejected) {
  StandIn standin;
  ServiceBusSender sender(standin.connection(), kQueue);
  auto result = sender.send({{"small", "{}"}, {"large", std::string(300 * 1024, 'x')}, {"small-2", "{}"}}, 10s);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_EQ(result.failures[0].index, 1u);
  EXPECT_EQ(result.failures[0].kind, ServiceBusErrorKind::rejected);
  EXPECT_NE(result.failures[0].reason.find("message-size-exceeded"), std::string::npos) << result.failures[0].reason;
}

TEST(ServiceBusStandIn, ReconnectsAfterTheBrokerRestartsAndLocksAreLost) {
  StandIn standin;
  ServiceBusOptions options;
  options.reconnect_min = 100ms;
  options.reconnect_max = 1s;
  ServiceBusSender sender(standin.connection(), kQueue, options);
  ServiceBusReceiver receiver(standin.connection(), kQueue, options);
  ASSERT_TRUE(sender.send(batch("before", 1), 10s).ok());
  auto held = receive_all(receiver, 1);
  ASSERT_EQ(held.size(), 1u);

  standin.restart();  // its queues start empty
  auto until = std::chrono::steady_clock::now() + 60s;
  while ((sender.status().connections < 2 || receiver.status().connections < 2) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(sender.status().connections, 2u);
  ASSERT_EQ(receiver.status().connections, 2u);
  try {
    receiver.complete(held[0]);
    FAIL() << "completed a message whose lock went with the old connection";
  } catch (const ServiceBusError& e) {
    EXPECT_EQ(e.kind(), ServiceBusErrorKind::lock_lost) << e.what();
  }
  auto result = sender.send(batch("after", 2), 10s);
  ASSERT_TRUE(result.ok()) << result.failures[0].reason;
  auto got = receive_all(receiver, 2);
  ASSERT_EQ(got.size(), 2u);
  for (auto& m : got) receiver.complete(m);
}

TEST(ServiceBusStandIn, ConcurrentSendersShareOneClient) {
  StandIn standin;
  ServiceBusSender sender(standin.connection(), kQueue);
  ServiceBusReceiver receiver(standin.connection(), kQueue);
  sender.wait_ready(30s);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < 5; ++b) {
        if (!sender.send(batch("t" + std::to_string(t) + "b" + std::to_string(b), 10), 30s).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> ids;
  for (auto& m : receive_all(receiver, 200)) {
    ids.insert(m.message_id);
    receiver.complete(m);
  }
  EXPECT_EQ(ids.size(), 200u);
}
