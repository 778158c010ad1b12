// The platform with CLOUD_PROVIDER=aws, five processes against the AWS emulators (local-aws-sqs,
// dynalite; requests signed and checked by the SigV4 checker where the test says so): the seed's
// flow through SQS and DynamoDB, and the pipeline's promise -- every evaluation stored exactly
// once -- while analytics is killed, SQS goes away and comes back empty, a poison message sits in
// the queue, two analytics replicas share it; and clear errors for bad settings.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "aws_emulators.hpp"
#include "platform.hpp"
#include "toggle/cloud/sqs.hpp"
#include "toggle/core/json.hpp"

using toggle::json;
using namespace std::chrono_literals;

namespace e2e {
namespace {

// An SQS emulator of this test's own, on a fixed port, so that it can be stopped and started
// again where it was (it keeps nothing: the queues must be created again).
class OwnSqs {
 public:
  OwnSqs() : port_(free_port()) { start(); }
  ~OwnSqs() { stop(); }
  void start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* devnull = std::fopen("/dev/null", "w");
      ::dup2(fileno(devnull), 1);
      std::string port = std::to_string(port_);
      ::execlp("node", "node", TOGGLE_AWS_EMULATORS_MJS, "--only", "sqs", "--sqs", port.c_str(), "--max-seconds", "900",
               static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    if (!eventually([&] { return connect_ok(); }, 20s)) throw std::runtime_error("the SQS emulator did not start");
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  bool connect_ok() const {
    int fd = connect_loopback(port_);
    if (fd >= 0) ::close(fd);
    return fd >= 0;
  }
  int port_;
  pid_t pid_ = 0;
};

std::map<std::string, std::string> aws_settings(const std::string& sqs, const std::string& dynamodb,
                                                const std::string& queue, const std::string& table) {
  return {
      {"CLOUD_PROVIDER", "aws"},
      {"AWS_REGION", "us-east-1"},
      {"AWS_ENDPOINT_URL_SQS", sqs},
      {"AWS_ENDPOINT_URL_DYNAMODB", dynamodb},
      {"AWS_ACCESS_KEY_ID", testsupport::kTestAccessKeyId},
      {"AWS_SECRET_ACCESS_KEY", testsupport::kTestSecretKey},
      // The queue's URL as LocalStack's users write it; the emulator finds queues by name.
      {"AWS_SQS_URL", sqs + "/000000000000/" + queue},
      {"AWS_DYNAMODB_TABLE", table},
      // A short lease, so that messages held by a killed analytics come back soon; short polls,
      // because the emulator waits a whole poll for a full reply.
      {"AWS_SQS_VISIBILITY_TIMEOUT", "5"},
      {"ANALYTICS_RECEIVE_WAIT_MS", "1000"},
  };
}

class AwsPipelineE2eTest : public ::testing::Test {
 protected:
  AwsPipelineE2eTest()
      : queue(testsupport::unique_name("e2e-events")),
        table(testsupport::unique_name("E2eEvents")),
        env(aws_settings(testsupport::aws_emulators().sqs, testsupport::aws_emulators().dynamodb, queue, table)) {}
  void TearDown() override {
    if (HasFailure() && platform) std::cerr << log_tails(*platform, {"evaluation-service", "analytics-service", "analytics-2"});
  }
  void start_platform() {
    std::string out;
    ASSERT_EQ(init_cloud("aws", env, &out), 0) << out;
    platform = std::make_unique<Platform>(env);
    platform->start_all();
  }
  std::int64_t stored(const std::string& flag, const std::string& analytics = "analytics-service") {
    return stored_events(*platform, flag, analytics);
  }
  int evaluate(const std::string& flag, const std::string& prefix, int n) {
    return evaluate_users(*platform, flag, prefix, n);
  }
  void create_flag(const std::string& name) { ASSERT_TRUE(e2e::create_flag(*platform, name)); }
  // Every stored event of the flag, once each, and as many as were served.
  void expect_each_stored_once(const std::string& flag, int served, const std::string& analytics = "analytics-service") {
    EXPECT_EQ(each_stored_once(*platform, flag, served, analytics), "");
  }

  std::string queue, table;
  std::map<std::string, std::string> env;
  std::unique_ptr<Platform> platform;
};

TEST_F(AwsPipelineE2eTest, TheSeedsFlowGoesThroughSqsAndDynamoDbSignedAsAwsChecksIt) {
  // Every AWS request of both services goes through the SigV4 checker, which refuses a signature
  // the AWS SDK's own signer would not make.
  env["AWS_ENDPOINT_URL_SQS"] = env["AWS_ENDPOINT_URL_DYNAMODB"] = testsupport::aws_emulators().sigv4;
  start_platform();
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

  ASSERT_TRUE(eventually([&] { return stored("test-checkout") == 1; }, 30s));
  auto events = json::parse(platform->get("analytics-service", "/events?flag_name=test-checkout").body);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["user_id"], "user-123");
  EXPECT_EQ(events[0]["flag_name"], "test-checkout");
  EXPECT_EQ(events[0]["result"], true);
  EXPECT_EQ(events[0]["event_id"].get<std::string>().size(), 36u);
  EXPECT_EQ(json::parse(platform->get("analytics-service", "/summary?flag_name=test-checkout").body),
            json::parse(R"({"flag_name":"test-checkout","total":1,"true":1,"false":0,"variants":{},"reasons":{}})"));
  // Without flag_name: every flag's, newest first, the same shape.
  EXPECT_EQ(json::parse(platform->get("analytics-service", "/events").body), events);
  // POST /events still works, into DynamoDB.
  auto posted = platform->send(
      "POST", "analytics-service", "/events",
      R"([{"event_id":"posted-1","user_id":"u9","flag_name":"test-checkout","result":false,"timestamp":"2020-01-01T00:00:00Z"}])");
  EXPECT_EQ(posted.body, R"({"duplicates":0,"stored":1})");
  EXPECT_EQ(stored("test-checkout"), 2);

  EXPECT_EQ(platform->get("evaluation-service", "/ready", "").status, 200);
  EXPECT_EQ(platform->get("analytics-service", "/ready", "").status, 200);
  EXPECT_EQ(metric(*platform, "evaluation-service", "events_delivered_total"), 1);
  EXPECT_EQ(metric(*platform, "analytics-service", "analytics_events_received_total"), 1);
  EXPECT_EQ(metric(*platform, "analytics-service", "analytics_events_stored_total"), 2);
  EXPECT_EQ(metric(*platform, "analytics-service", "analytics_events_dead_lettered_total"), 0);
  EXPECT_TRUE(eventually([&] { return metric(*platform, "analytics-service", "analytics_queue_depth") == 0; }, 20s));
  // SIGTERM: a graceful stop, also for the consumer in its poll.
  EXPECT_EQ(platform->stop("analytics-service"), 0);
  EXPECT_EQ(platform->stop("evaluation-service"), 0);
}

TEST_F(AwsPipelineE2eTest, AnalyticsKilledWhileEvaluationsContinueThenEveryEventIsStoredOnce) {
  start_platform();
  create_flag("outage");
  int served = evaluate("outage", "a", 100);
  ASSERT_TRUE(eventually([&] { return stored("outage") > 0; }, 30s));
  platform->kill("analytics-service");  // SIGKILL, maybe holding messages: they come back after their lease
  served += evaluate("outage", "b", 400);
  platform->start("analytics-service");
  served += evaluate("outage", "c", 100);
  ASSERT_EQ(served, 600);
  expect_each_stored_once("outage", served);
  EXPECT_EQ(metric(*platform, "evaluation-service", "events_dropped_total"), 0);
}

TEST_F(AwsPipelineE2eTest, SqsStoppedAndRestartedEmptyEventsAreSpooledThenDelivered) {
  OwnSqs sqs;
  env = aws_settings(sqs.url(), testsupport::aws_emulators().dynamodb, queue, table);
  start_platform();
  create_flag("bounce");
  int served = evaluate("bounce", "a", 50);
  ASSERT_TRUE(eventually([&] { return stored("bounce") == 50; }, 30s));

  sqs.stop();
  served += evaluate("bounce", "b", 100);  // evaluation answers from memory; events go to disk
  EXPECT_TRUE(eventually([&] { return metric(*platform, "evaluation-service", "events_spooled_total") > 0; }, 20s));
  EXPECT_EQ(platform->get("evaluation-service", "/ready", "").status, 200);  // unreachable: not a reason
  EXPECT_TRUE(eventually([&] { return platform->get("analytics-service", "/ready", "").status == 503; }, 20s));

  sqs.start();  // empty: no queue until the set-up runs again
  EXPECT_TRUE(eventually([&] { return platform->get("evaluation-service", "/ready", "").status == 503; }, 20s))
      << "a missing queue is reported";
  std::string out;
  ASSERT_EQ(init_cloud("aws", env, &out), 0) << out;
  served += evaluate("bounce", "c", 50);
  ASSERT_EQ(served, 200);
  expect_each_stored_once("bounce", served);
  EXPECT_TRUE(eventually([&] { return metric(*platform, "evaluation-service", "event_spool_files") == 0; }, 20s));
  // Readiness asks SQS at most every 2 s: it turns 200 on its next look.
  EXPECT_TRUE(eventually([&] { return platform->get("evaluation-service", "/ready", "").status == 200; }, 20s));
}

TEST_F(AwsPipelineE2eTest, APoisonMessageGoesToTheDeadLetterQueueWhileTheRestFlow) {
  start_platform();
  create_flag("flowing");
  toggle::cloud::AwsConfig config;
  config.region = "us-east-1";
  config.sqs_endpoint = testsupport::aws_emulators().sqs;
  config.static_credentials = toggle::cloud::AwsCredentials{testsupport::kTestAccessKeyId, testsupport::kTestSecretKey, "", std::nullopt};
  toggle::cloud::SqsClient sqs(config);
  auto deadline = toggle::cloud::deadline_after(10s);
  auto sent = sqs.send_message_batch(env["AWS_SQS_URL"],
                                     {{"poison", R"({"user_id":"u","flag_name":"flowing","result":"perhaps"})", {}},
                                      {"old", R"({"user_id":"old-producer","flag_name":"flowing","result":true,"timestamp":"2025-06-11T17:03:07.123456789Z"})", {}}},
                                     deadline);
  ASSERT_EQ(sent.sent.size(), 2u);
  int served = evaluate("flowing", "u", 40);
  expect_each_stored_once("flowing", served + 1);  // + the original producer's message, with a content id
  EXPECT_TRUE(eventually([&] { return metric(*platform, "analytics-service", "analytics_events_dead_lettered_total") == 1; }));
  std::string dlq = sqs.get_queue_url(queue + "-dlq", deadline);
  std::vector<toggle::cloud::SqsMessage> dead;
  ASSERT_TRUE(eventually([&] {
    toggle::cloud::SqsReceiveOptions o;
    o.wait_seconds = 1;
    for (auto& m : sqs.receive_messages(dlq, o, toggle::cloud::deadline_after(10s))) dead.push_back(m);
    return !dead.empty();
  }, 20s));
  EXPECT_EQ(dead[0].body, R"({"user_id":"u","flag_name":"flowing","result":"perhaps"})");
}

TEST_F(AwsPipelineE2eTest, TwoAnalyticsReplicasOnOneQueueStoreEachEventOnce) {
  std::string out;
  ASSERT_EQ(init_cloud("aws", env, &out), 0) << out;
  platform = std::make_unique<Platform>(env);
  platform->add_replica("analytics-service", "analytics-2");
  platform->start_all();
  platform->start("analytics-2");
  create_flag("shared");
  int served = 0;
  for (int round = 0; round < 4; ++round) served += evaluate("shared", "r" + std::to_string(round) + "-", 250);
  ASSERT_EQ(served, 1000);
  expect_each_stored_once("shared", served);
  expect_each_stored_once("shared", served, "analytics-2");  // one table: either replica reads it all
  double first = metric(*platform, "analytics-service", "analytics_events_received_total");
  double second = metric(*platform, "analytics-2", "analytics_events_received_total");
  EXPECT_GE(first + second, served);  // each message received at least once, by one or the other
  std::cerr << "received: " << first << " + " << second << "\n";
}

TEST_F(AwsPipelineE2eTest, BadSettingsStopTheStartAndRefusedOrUnreachableAwsIsReported) {
  std::string out;
  ASSERT_EQ(init_cloud("aws", env, &out), 0) << out;
  // A missing setting: the service does not start, and says which.
  auto missing = env;
  missing.erase("AWS_SQS_URL");
  platform = std::make_unique<Platform>(missing);
  EXPECT_THROW(platform->start("analytics-service"), std::runtime_error);
  EXPECT_NE(platform->log_tail("analytics-service").find("AWS_SQS_URL must be set"), std::string::npos);
  EXPECT_THROW(platform->start("evaluation-service"), std::runtime_error);
  EXPECT_NE(platform->log_tail("evaluation-service").find("AWS_SQS_URL must be set"), std::string::npos);

  // Credentials AWS refuses (the SigV4 checker): both services say so in /ready.
  auto refused = env;
  refused["AWS_ENDPOINT_URL_SQS"] = refused["AWS_ENDPOINT_URL_DYNAMODB"] = testsupport::aws_emulators().sigv4;
  refused["AWS_SECRET_ACCESS_KEY"] = "not-the-secret";
  platform = std::make_unique<Platform>(refused);
  platform->start("analytics-service");
  platform->start("evaluation-service");
  auto ready = platform->get("analytics-service", "/ready", "");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("InvalidSignatureException"), std::string::npos) << ready.body;
  ready = platform->get("evaluation-service", "/ready", "");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("SQS refuses the queue"), std::string::npos) << ready.body;
  platform->stop_all();

  // Nothing listening: analytics cannot work (503); evaluation can (events wait on disk).
  auto unreachable = env;
  unreachable["AWS_ENDPOINT_URL_SQS"] = unreachable["AWS_ENDPOINT_URL_DYNAMODB"] = "http://127.0.0.1:9";
  platform = std::make_unique<Platform>(unreachable);
  platform->start_all();
  ready = platform->get("analytics-service", "/ready", "");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("DynamoDB"), std::string::npos) << ready.body;
  create_flag("nowhere");
  EXPECT_EQ(evaluate("nowhere", "u", 20), 20);
  EXPECT_TRUE(eventually([&] { return metric(*platform, "evaluation-service", "events_spooled_total") == 20; }, 20s));
  EXPECT_EQ(platform->stop("analytics-service"), 0);  // a consumer backing off stops at once too
}

}  // namespace
}  // namespace e2e
