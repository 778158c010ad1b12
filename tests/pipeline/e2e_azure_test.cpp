// The platform with CLOUD_PROVIDER=azure, five processes: Service Bus = RabbitMQ's AMQP 1.0 plugin
// in the development-emulator mode (plain AMQP; the queue is the AMQP address /queue/NAME), and
// once the project's Service Bus stand-in (the production path: TLS, CBS with SAS tokens,
// peek-lock, dead-letter queue); Cosmos DB = azurite's Table endpoint (the same REST and SharedKey
// signatures). The seed's flow through the queue and the tables, the stored entity readable by
// other tools, and the pipeline's promise -- every evaluation stored exactly once -- while
// analytics is killed, Service Bus goes away and comes back, a poison message sits in the queue,
// two analytics replicas share it; and clear errors for bad settings and a wrong key.
#include <gtest/gtest.h>

#include <random>

#include "azure_servers.hpp"
#include "platform.hpp"
#include "toggle/cloud/cosmos_table_client.hpp"
#include "toggle/cloud/servicebus_client.hpp"
#include "toggle/core/json.hpp"

using toggle::json;
using namespace std::chrono_literals;

namespace e2e {
namespace {

std::string azurite() { return testsupport::shared_server("azurite.sh", "TOGGLE_TEST_AZURITE_STATE"); }
std::string rabbitmq() { return testsupport::shared_server("rabbitmq.sh", "TOGGLE_TEST_RABBITMQ_STATE"); }

// A number for names of this test's own queue and table (tests share the servers).
std::string unique_suffix() {
  std::random_device random;
  return std::to_string(random());
}

class AzurePipelineE2eTest : public ::testing::Test {
 protected:
  AzurePipelineE2eTest()
      : queue("/queue/e2e-events-" + unique_suffix()),
        table("E2eEvents" + unique_suffix()),
        env({
            {"CLOUD_PROVIDER", "azure"},
            {"AZURE_SERVICEBUS_CONNECTION_STRING", rabbitmq()},
            {"AZURE_SERVICEBUS_QUEUE", queue},
            {"AZURE_COSMOS_CONNECTION_STRING", azurite()},
            {"AZURE_COSMOS_TABLE", table},
            // The consumer's other settings as a user gets them (e.g. a 20 s receive wait).
        }) {}
  void TearDown() override {
    if (HasFailure() && platform)
      std::cerr << log_tails(*platform, {"evaluation-service", "analytics-service", "analytics-2"});
  }
  void start_platform() {
    std::string out;
    ASSERT_EQ(init_cloud("azure", env, &out), 0) << out;
    platform = std::make_unique<Platform>(env);
    platform->start_all();
  }
  // Sends `body` to the queue as a producer other than evaluation-service would.
  void send_raw(const std::string& message_id, const std::string& body) {
    toggle::cloud::ServiceBusSender sender(
        toggle::cloud::parse_servicebus_connection_string(env["AZURE_SERVICEBUS_CONNECTION_STRING"]),
        env["AZURE_SERVICEBUS_QUEUE"]);
    auto result = sender.send({{message_id, body}}, 30s);
    ASSERT_TRUE(result.ok()) << message_id;
  }
  // The seed's flow: a flag with a 100 % rule, one evaluation, the event through the pipeline.
  void seeds_flow() {
    auto flag = platform->send("POST", "flag-service", "/flags",
                               R"({"name":"test-checkout","description":"Teste do fluxo de checkout","is_enabled":true})");
    ASSERT_EQ(flag.status, 201) << flag.body;
    ASSERT_EQ(platform
                  ->send("POST", "targeting-service", "/rules",
                         R"({"flag_name":"test-checkout","is_enabled":true,"rules":{"type":"PERCENTAGE","value":100}})")
                  .status,
              201);
    auto eval = platform->get("evaluation-service", "/evaluate?user_id=user-123&flag_name=test-checkout", "");
    EXPECT_EQ(eval.body, R"({"flag_name":"test-checkout","user_id":"user-123","result":true})");

    ASSERT_TRUE(eventually([&] { return stored_events(*platform, "test-checkout") == 1; }, 30s));
    auto events = json::parse(platform->get("analytics-service", "/events?flag_name=test-checkout").body);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0]["user_id"], "user-123");
    EXPECT_EQ(events[0]["flag_name"], "test-checkout");
    EXPECT_EQ(events[0]["result"], true);
    EXPECT_EQ(events[0]["event_id"].get<std::string>().size(), 36u);
    EXPECT_EQ(json::parse(platform->get("analytics-service", "/summary?flag_name=test-checkout").body),
              json::parse(R"({"flag_name":"test-checkout","total":1,"true":1,"false":0,"variants":{},"reasons":{}})"));
    // Without flag_name: every flag's, newest first (from <table>ByTime), the same shape.
    EXPECT_EQ(json::parse(platform->get("analytics-service", "/events").body), events);
    seen = events[0];
  }

  std::string queue, table;
  std::map<std::string, std::string> env;
  std::unique_ptr<Platform> platform;
  json seen;  // the event of seeds_flow(), as /events lists it
};

TEST_F(AzurePipelineE2eTest, InitCloudCreatesTheTablesOnceThenSaysTheyExist) {
  std::string out;
  ASSERT_EQ(init_cloud("azure", env, &out), 0) << out;
  EXPECT_NE(out.find("created table " + table + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("created table " + table + "ByTime\n"), std::string::npos) << out;
  ASSERT_EQ(init_cloud("azure", env, &out), 0) << out;
  EXPECT_NE(out.find("exists table " + table + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("exists table " + table + "ByTime\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("created"), std::string::npos) << out;
  EXPECT_EQ(out.find("AccountKey"), std::string::npos) << "no secret in the output: " << out;
}

TEST_F(AzurePipelineE2eTest, TheSeedsFlowGoesThroughServiceBusAndCosmosDb) {
  start_platform();
  ASSERT_NO_FATAL_FAILURE(seeds_flow());

  // The stored entity, as another tool reads the table: the event's fields under their own names.
  toggle::cloud::TableClient tables(toggle::cloud::parse_table_connection_string(azurite()));
  toggle::cloud::TableQuery query;
  query.filter = "PartitionKey eq 'test-checkout'";
  std::vector<toggle::cloud::TableEntity> stored;
  for (auto& e : tables.query(table, query).entities)
    if (e.get<std::string>("event_id")) stored.push_back(e);  // not the flag's counter
  ASSERT_EQ(stored.size(), 1u);
  const auto& entity = stored[0];
  ASSERT_TRUE(entity.get<std::string>("event_id") && entity.get<std::string>("user_id") &&
              entity.get<std::string>("flag_name") && entity.get<bool>("result") &&
              entity.get<std::string>("timestamp"));
  EXPECT_EQ(*entity.get<std::string>("event_id"), seen["event_id"]);
  EXPECT_EQ(*entity.get<std::string>("user_id"), "user-123");
  EXPECT_EQ(*entity.get<std::string>("flag_name"), "test-checkout");
  EXPECT_EQ(*entity.get<bool>("result"), true);
  EXPECT_EQ(*entity.get<std::string>("timestamp"), seen["timestamp"]);

  // POST /events still works, into Cosmos DB.
  auto posted = platform->send(
      "POST", "analytics-service", "/events",
      R"([{"event_id":"posted-1","user_id":"u9","flag_name":"test-checkout","result":false,"timestamp":"2020-01-01T00:00:00Z"}])");
  EXPECT_EQ(posted.body, R"({"duplicates":0,"stored":1})");
  EXPECT_EQ(stored_events(*platform, "test-checkout"), 2);

  EXPECT_EQ(platform->get("evaluation-service", "/ready", "").status, 200);
  EXPECT_EQ(platform->get("analytics-service", "/ready", "").status, 200);
  EXPECT_EQ(metric(*platform, "evaluation-service", "events_delivered_total"), 1);
  EXPECT_EQ(metric(*platform, "analytics-service", "analytics_events_received_total"), 1);
  EXPECT_EQ(metric(*platform, "analytics-service", "analytics_events_stored_total"), 2);
  EXPECT_EQ(metric(*platform, "analytics-service", "analytics_events_dead_lettered_total"), 0);
  // SIGTERM: a graceful stop, also for the consumer in its poll.
  EXPECT_EQ(platform->stop("analytics-service"), 0);
  EXPECT_EQ(platform->stop("evaluation-service"), 0);
}

TEST_F(AzurePipelineE2eTest, AnalyticsKilledDuringABurstThenEveryEventIsStoredOnce) {
  start_platform();
  ASSERT_TRUE(create_flag(*platform, "outage"));
  int served = evaluate_users(*platform, "outage", "a", 100);
  ASSERT_TRUE(eventually([&] { return stored_events(*platform, "outage") > 0; }, 30s));
  // SIGKILL, maybe between storing and completing: the broker hands its unsettled messages out
  // again when the connection drops, and the store keeps each event once.
  platform->kill("analytics-service");
  served += evaluate_users(*platform, "outage", "b", 400);
  platform->start("analytics-service");
  served += evaluate_users(*platform, "outage", "c", 100);
  ASSERT_EQ(served, 600);
  EXPECT_EQ(each_stored_once(*platform, "outage", served), "");
  EXPECT_EQ(metric(*platform, "evaluation-service", "events_dropped_total"), 0);
}

TEST_F(AzurePipelineE2eTest, APoisonMessageDoesNotBlockTheRest) {
  start_platform();
  ASSERT_TRUE(create_flag(*platform, "flowing"));
  send_raw("poison-1", "this is not JSON");
  send_raw("old-1", R"({"user_id":"old-producer","flag_name":"flowing","result":true,"timestamp":"2025-06-11T17:03:07.123456789Z"})");
  int served = evaluate_users(*platform, "flowing", "u", 40);
  EXPECT_EQ(each_stored_once(*platform, "flowing", served + 1), "");  // + the old producer's, with a content id
  // RabbitMQ has no dead-letter queue unless one is configured: the rejected message is dropped.
  EXPECT_TRUE(eventually([&] { return metric(*platform, "analytics-service", "analytics_events_dead_lettered_total") == 1; }));
  EXPECT_EQ(platform->get("analytics-service", "/ready", "").status, 200);
}

TEST_F(AzurePipelineE2eTest, TwoAnalyticsReplicasOnOneQueueStoreEachEventOnce) {
  std::string out;
  ASSERT_EQ(init_cloud("azure", env, &out), 0) << out;
  platform = std::make_unique<Platform>(env);
  platform->add_replica("analytics-service", "analytics-2");
  platform->start_all();
  platform->start("analytics-2");
  ASSERT_TRUE(create_flag(*platform, "shared"));
  int served = 0;
  for (int round = 0; round < 4; ++round) served += evaluate_users(*platform, "shared", "r" + std::to_string(round) + "-", 250);
  ASSERT_EQ(served, 1000);
  EXPECT_EQ(each_stored_once(*platform, "shared", served), "");
  EXPECT_EQ(each_stored_once(*platform, "shared", served, "analytics-2"), "");  // one table: either replica reads it all
  double first = metric(*platform, "analytics-service", "analytics_events_received_total");
  double second = metric(*platform, "analytics-2", "analytics_events_received_total");
  EXPECT_GE(first + second, served);  // each message received at least once, by one or the other
  std::cerr << "received: " << first << " + " << second << "\n";
}

TEST_F(AzurePipelineE2eTest, BadSettingsStopTheStartNamingTheVariable) {
  auto no_cosmos = env;
  no_cosmos.erase("AZURE_COSMOS_CONNECTION_STRING");
  platform = std::make_unique<Platform>(no_cosmos);
  EXPECT_EQ(platform->run_to_exit("analytics-service"), 2);
  EXPECT_NE(platform->log_tail("analytics-service").find("AZURE_COSMOS_CONNECTION_STRING"), std::string::npos)
      << platform->log_tail("analytics-service");
  // evaluation-service does not store: it needs no Cosmos DB.
  auto no_bus = env;
  no_bus.erase("AZURE_SERVICEBUS_CONNECTION_STRING");
  platform = std::make_unique<Platform>(no_bus);
  EXPECT_EQ(platform->run_to_exit("evaluation-service"), 2);
  EXPECT_NE(platform->log_tail("evaluation-service").find("AZURE_SERVICEBUS_CONNECTION_STRING"), std::string::npos)
      << platform->log_tail("evaluation-service");
  EXPECT_EQ(platform->run_to_exit("analytics-service"), 2);
  EXPECT_NE(platform->log_tail("analytics-service").find("AZURE_SERVICEBUS_CONNECTION_STRING"), std::string::npos);
  // init-cloud needs only Cosmos DB, and says when it is missing.
  std::string out;
  EXPECT_EQ(init_cloud("azure", no_cosmos, &out), 2);
  EXPECT_NE(out.find("AZURE_COSMOS_CONNECTION_STRING"), std::string::npos) << out;
  // A connection string that is not one: the reason, and never the key.
  auto garbled = env;
  garbled["AZURE_SERVICEBUS_CONNECTION_STRING"] = "Endpoint=sb://127.0.0.1:1/;SharedAccessKey=s3cr3t-key";
  platform = std::make_unique<Platform>(garbled);
  EXPECT_EQ(platform->run_to_exit("evaluation-service"), 2);
  EXPECT_NE(platform->log_tail("evaluation-service").find("AZURE_SERVICEBUS_CONNECTION_STRING"), std::string::npos);
  EXPECT_EQ(platform->log_tail("evaluation-service").find("s3cr3t-key"), std::string::npos);
}

// Service Bus away (the stand-in stopped, then started again on its port, empty: it keeps
// messages in memory, so the test lets everything sent before drain first): evaluation answers
// all along and spools the events to disk; once the broker is back they are sent, and stored once.
TEST_F(AzurePipelineE2eTest, ServiceBusStoppedAndRestartedEventsAreSpooledThenDelivered) {
  testsupport::ScriptedServer standin("servicebus_standin.sh");
  env["AZURE_SERVICEBUS_CONNECTION_STRING"] = standin.read("connection-string");
  env["AZURE_SERVICEBUS_QUEUE"] = "evaluation-events";
  env["SSL_CERT_FILE"] = standin.path("ca.pem");
  start_platform();
  ASSERT_TRUE(create_flag(*platform, "bounce"));
  int served = evaluate_users(*platform, "bounce", "a", 50);
  ASSERT_TRUE(eventually([&] { return stored_events(*platform, "bounce") == 50; }, 30s));

  standin.run("stop");
  served += evaluate_users(*platform, "bounce", "b", 100);  // answered from memory; events to disk
  EXPECT_TRUE(eventually([&] { return metric(*platform, "evaluation-service", "events_spooled_total") > 0; }, 30s));
  // Unreachable is no reason to take evaluation out of service (its events wait on disk), as with
  // SQS; analytics cannot work without its queue.
  auto ready = platform->get("evaluation-service", "/ready", "");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_TRUE(eventually([&] { return platform->get("analytics-service", "/ready", "").status == 503; }, 30s));

  standin.run("restart");
  served += evaluate_users(*platform, "bounce", "c", 50);
  ASSERT_EQ(served, 200);
  EXPECT_EQ(each_stored_once(*platform, "bounce", served), "");
  EXPECT_TRUE(eventually([&] { return metric(*platform, "evaluation-service", "event_spool_files") == 0; }, 30s));
  EXPECT_TRUE(eventually([&] { return platform->get("analytics-service", "/ready", "").status == 200; }, 30s));
  EXPECT_EQ(platform->get("evaluation-service", "/ready", "").status, 200);
  EXPECT_EQ(metric(*platform, "evaluation-service", "events_dropped_total"), 0);
}

// A key Service Bus refuses: the services start (the key may be rotated while they run), and
// both say in /ready what is wrong, never the key; evaluations are still served.
TEST_F(AzurePipelineE2eTest, AWrongServiceBusKeyIsReportedByReadyAndNeverShown) {
  testsupport::ScriptedServer standin("servicebus_standin.sh");
  auto connection = standin.read("connection-string");
  const std::string key = connection.substr(connection.find("SharedAccessKey=") + 16);
  const std::string wrong_key = "V3ryWrongKeyV3ryWrongKeyV3ryWrongKey0000000=";
  env["AZURE_SERVICEBUS_CONNECTION_STRING"] = connection.substr(0, connection.size() - key.size()) + wrong_key;
  env["AZURE_SERVICEBUS_QUEUE"] = "evaluation-events";
  env["SSL_CERT_FILE"] = standin.path("ca.pem");
  start_platform();
  for (const char* service : {"evaluation-service", "analytics-service"}) {
    toggle::ClientResponse ready;
    EXPECT_TRUE(eventually([&] {
      ready = platform->get(service, "/ready", "");
      return ready.status == 503 && ready.body.find("unauthorized") != std::string::npos;
    }, 30s)) << service << ": " << ready.status << " " << ready.body;
    EXPECT_EQ(ready.body.find(wrong_key), std::string::npos) << ready.body;
    EXPECT_EQ(platform->log_tail(service, 1000).find(wrong_key), std::string::npos) << service;
  }
  ASSERT_EQ(platform->send("POST", "flag-service", "/flags", R"({"name":"refused","is_enabled":true})").status, 201);
  EXPECT_EQ(evaluate_users(*platform, "refused", "u", 5), 5);
  EXPECT_TRUE(eventually([&] { return metric(*platform, "evaluation-service", "events_spooled_total") == 5; }, 30s));
}

// The production path, against the stand-in: TLS checked against the test's CA (SSL_CERT_FILE),
// SASL ANONYMOUS and CBS put-token with SAS tokens from the connection string's key, peek-lock,
// and a real dead-letter queue.
TEST_F(AzurePipelineE2eTest, OverTheServiceBusStandInTheSeedsFlowWorksAndAPoisonMessageIsDeadLettered) {
  testsupport::ScriptedServer standin("servicebus_standin.sh");
  env["AZURE_SERVICEBUS_CONNECTION_STRING"] = standin.read("connection-string");
  env["AZURE_SERVICEBUS_QUEUE"] = "evaluation-events";
  env["SSL_CERT_FILE"] = standin.path("ca.pem");
  start_platform();
  ASSERT_NO_FATAL_FAILURE(seeds_flow());
  EXPECT_EQ(platform->get("evaluation-service", "/ready", "").status, 200);
  EXPECT_EQ(platform->get("analytics-service", "/ready", "").status, 200);

  ::setenv("SSL_CERT_FILE", standin.path("ca.pem").c_str(), 1);  // this test's own sender and receiver
  send_raw("poison-1", "this is not JSON");
  ASSERT_TRUE(create_flag(*platform, "flowing"));
  int served = evaluate_users(*platform, "flowing", "u", 40);
  EXPECT_EQ(each_stored_once(*platform, "flowing", served), "");
  EXPECT_TRUE(eventually([&] { return metric(*platform, "analytics-service", "analytics_events_dead_lettered_total") == 1; }));
  auto connection = toggle::cloud::parse_servicebus_connection_string(env["AZURE_SERVICEBUS_CONNECTION_STRING"]);
  toggle::cloud::ServiceBusReceiver dead(connection, toggle::cloud::servicebus_dead_letter_queue("evaluation-events"));
  std::vector<toggle::cloud::ReceivedMessage> letters;
  ASSERT_TRUE(eventually([&] {
    for (auto& m : dead.receive(1, 1s)) letters.push_back(m);
    return !letters.empty();
  }, 20s));
  EXPECT_EQ(letters[0].message_id, "poison-1");
  EXPECT_EQ(letters[0].body, "this is not JSON");
  EXPECT_NE(letters[0].dead_letter_reason.find("not JSON"), std::string::npos) << letters[0].dead_letter_reason;
  dead.complete(letters[0]);
  EXPECT_EQ(platform->stop("analytics-service"), 0);
  EXPECT_EQ(platform->stop("evaluation-service"), 0);
}

}  // namespace
}  // namespace e2e
