// The AWS implementations of the pipeline's seams against local-aws-sqs and dynalite (and the
// SigV4 checker): resources, the message a publisher sends, acks, releases, the dead-letter queue,
// lease extensions, and the store's exactly-once writes, counts and newest-first reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "aws_emulators.hpp"
#include "eventually.hpp"
#include "toggle/cloud/aws_pipeline.hpp"
#include "toggle/cloud/pipeline.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/error.hpp"

namespace {

using namespace std::chrono_literals;
using testsupport::eventually;
using toggle::Event;
using namespace toggle::cloud;

AwsConfig config_for(const std::string& sqs, const std::string& dynamodb, const std::string& secret = testsupport::kTestSecretKey) {
  AwsConfig c;
  c.region = "us-east-1";
  c.sqs_endpoint = sqs;
  c.dynamodb_endpoint = dynamodb;
  c.sts_endpoint = sqs;
  c.static_credentials = AwsCredentials{testsupport::kTestAccessKeyId, secret, "", std::nullopt};
  return c;
}

// Queues and tables of this test's own, created by create_aws_resources() as --init-cloud does.
class AwsPipelineTest : public testing::Test {
 protected:
  AwsPipelineTest() {
    const auto& aws = testsupport::aws_emulators();
    settings.aws = config_for(aws.sqs, aws.dynamodb);
    settings.credentials = make_credentials_provider(settings.aws);
    settings.queue_name = testsupport::unique_name("events");
    settings.table = testsupport::unique_name("Events");
    settings.counts_table = settings.table + "-counts";
    sqs = std::make_shared<const SqsClient>(sqs_service(settings.aws), settings.credentials);
    db = std::make_shared<const DynamoDbClient>(dynamodb_service(settings.aws), settings.credentials);
  }
  void init() {
    settings.queue_url = sqs->create_queue(settings.queue_name, {}, deadline_after(10s));
    report = create_aws_resources(settings, deadline_after(30s));
  }
  std::string dlq_url() { return sqs->get_queue_url(settings.dead_letter_queue_name(), deadline_after(10s)); }
  std::vector<SqsMessage> drain(const std::string& url, std::size_t expected) {
    std::vector<SqsMessage> all;
    for (int i = 0; i < 20 && all.size() < expected; ++i) {
      SqsReceiveOptions o;
      o.wait_seconds = 1;
      for (auto& m : sqs->receive_messages(url, o, deadline_after(10s))) all.push_back(std::move(m));
    }
    return all;
  }

  AwsPipelineSettings settings;
  std::shared_ptr<const SqsClient> sqs;
  std::shared_ptr<const DynamoDbClient> db;
  std::vector<std::string> report;
};

Event event(const std::string& flag, const std::string& timestamp, bool result = true) {
  return {toggle::crypto::uuid_v7(), "user-" + toggle::crypto::random_hex(4), flag, result, timestamp, "", ""};
}

bool newer(const Event& a, const Event& b) {
  return a.timestamp != b.timestamp ? a.timestamp > b.timestamp : a.event_id > b.event_id;
}

TEST_F(AwsPipelineTest, InitCreatesTheQueuesAndTablesAndRunningItAgainChangesNothing) {
  init();
  std::string all;
  for (const auto& line : report) all += line + "\n";
  EXPECT_NE(all.find("created: queue " + settings.dead_letter_queue_name()), std::string::npos) << all;
  EXPECT_NE(all.find("created: table " + settings.table), std::string::npos) << all;
  EXPECT_NE(all.find("created: table " + settings.counts_table), std::string::npos) << all;

  auto attributes = sqs->get_queue_attributes(settings.queue_url, {"All"}, deadline_after(10s));
  EXPECT_EQ(attributes["VisibilityTimeout"], "60");
  auto policy = nlohmann::json::parse(attributes["RedrivePolicy"]);
  std::string dlq_arn = sqs->get_queue_attributes(dlq_url(), {"QueueArn"}, deadline_after(10s))["QueueArn"];
  EXPECT_EQ(policy["deadLetterTargetArn"], dlq_arn);
  EXPECT_EQ(policy["maxReceiveCount"].dump(), "5");  // a number or a string, as SQS has it
  auto events = db->describe_table(settings.table, deadline_after(10s));
  EXPECT_TRUE(events.active());
  EXPECT_TRUE(events.index_status.count(kFlagIndex));
  EXPECT_TRUE(events.index_status.count(kDayIndex));

  settings.max_receive_count = 7;  // a changed setting is applied on the next run
  report = create_aws_resources(settings, deadline_after(30s));
  all.clear();
  for (const auto& line : report) all += line + "\n";
  EXPECT_NE(all.find("exists (attributes set): queue " + settings.queue_name), std::string::npos) << all;
  EXPECT_NE(all.find("exists: table " + settings.table), std::string::npos) << all;
  policy = nlohmann::json::parse(sqs->get_queue_attributes(settings.queue_url, {"RedrivePolicy"}, deadline_after(10s))["RedrivePolicy"]);
  EXPECT_EQ(policy["maxReceiveCount"].dump().find('7') != std::string::npos, true) << policy.dump();
}

TEST_F(AwsPipelineTest, ATableWithoutTheIndexesIsNamedNotUsedBlindly) {
  // The seed's table: keyed by event_id alone.
  ASSERT_TRUE(db->create_table({settings.table, {{"event_id", "S"}}, "event_id", "", {}}, deadline_after(10s)));
  settings.queue_url = sqs->create_queue(settings.queue_name, {}, deadline_after(10s));
  try {
    create_aws_resources(settings, deadline_after(30s));
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("without the global secondary index flag_time"), std::string::npos) << e.what();
  }
  DynamoEventStore store(db, settings.table, settings.counts_table);
  EXPECT_NE(store.readiness().find("has no index flag_time"), std::string::npos) << store.readiness();
}

TEST_F(AwsPipelineTest, ThePublisherSendsOneMessagePerEventWithTheContractsJson) {
  init();
  SqsEventPublisher publisher(sqs, settings.queue_url);
  EXPECT_EQ(publisher.readiness(), "");
  std::vector<Event> batch;
  for (int i = 0; i < 25; ++i) batch.push_back(event("published", "2026-11-30T13:00:00.000Z", i % 2 == 0));
  batch[3].variant = "blue";
  batch[3].reason = "SPLIT";
  EXPECT_EQ(publisher.publish(batch, 5000ms), toggle::EventPublisher::Outcome::delivered);
  auto messages = drain(settings.queue_url, batch.size());
  ASSERT_EQ(messages.size(), batch.size());
  std::set<std::string> bodies;
  for (const auto& m : messages) bodies.insert(m.body);
  for (const auto& e : batch) {
    std::string expected;
    toggle::append_json(expected, e);
    EXPECT_TRUE(bodies.count(expected)) << expected;
  }
  // The original's fields, plus ours.
  auto j = nlohmann::json::parse(*bodies.begin());
  for (const char* field : {"event_id", "user_id", "flag_name", "result", "timestamp"}) EXPECT_TRUE(j.contains(field)) << field;
}

TEST_F(AwsPipelineTest, ThePublisherFailsRetryablyWhenSqsIsGoneAndReportsOnlyWhatWillNotHeal) {
  init();
  // No such queue: a configuration to fix (or an emulator to set up again): /ready says so, and
  // the events are kept (failed, not rejected).
  SqsEventPublisher missing(sqs, settings.queue_url + "-missing");
  EXPECT_NE(missing.readiness().find("QueueDoesNotExist"), std::string::npos) << missing.readiness();
  EXPECT_EQ(missing.publish({event("f", "2026-11-30T13:00:00.000Z")}, 2000ms), toggle::EventPublisher::Outcome::failed);
  // Nothing listening: the events wait in the spool, evaluation stays ready.
  auto closed = std::make_shared<const SqsClient>(
      sqs_service(config_for("http://127.0.0.1:9", "http://127.0.0.1:9")), settings.credentials);
  SqsEventPublisher unreachable(closed, "http://127.0.0.1:9/000000000000/q");
  EXPECT_EQ(unreachable.readiness(), "");
  EXPECT_EQ(unreachable.publish({event("f", "2026-11-30T13:00:00.000Z")}, 500ms), toggle::EventPublisher::Outcome::failed);
  // Credentials refused (checked by the SigV4 checker with the AWS SDK's signer): not ready.
  auto bad = config_for(testsupport::aws_emulators().sigv4, testsupport::aws_emulators().sigv4, "not-the-secret");
  SqsEventPublisher refused(std::make_shared<const SqsClient>(sqs_service(bad), make_credentials_provider(bad)),
                            settings.queue_url);
  EXPECT_NE(refused.readiness().find("InvalidSignatureException"), std::string::npos) << refused.readiness();
  EXPECT_EQ(refused.publish({event("f", "2026-11-30T13:00:00.000Z")}, 2000ms), toggle::EventPublisher::Outcome::failed);
}

TEST_F(AwsPipelineTest, TheQueueAcksReleasesAndDeadLettersWithTheBodyAsItCame) {
  init();
  SqsQueueOptions options;
  options.release_delay_s = 1;
  SqsEventQueue queue(sqs, settings.queue_url, options);
  EXPECT_EQ(queue.readiness(), "");
  sqs->send_message_batch(settings.queue_url, {{"a", "stored", {}}, {"b", "later", {}}, {"c", "{poison", {}}},
                          deadline_after(10s));
  std::map<std::string, std::string> handle_of;
  EXPECT_TRUE(eventually([&] {
    for (auto& m : queue.receive(10, 1000ms)) {
      EXPECT_EQ(m.delivery_count, 1);
      handle_of[m.body] = m.handle;
    }
    return handle_of.size() == 3;
  }, 20s));
  EXPECT_EQ(queue.in_flight(), 3u);
  queue.ack({handle_of["stored"]});
  queue.release({handle_of["later"]});
  queue.dead_letter(handle_of["{poison"], "the message is not JSON");
  EXPECT_EQ(queue.in_flight(), 0u);
  // Released: back, delivered a second time.
  std::vector<toggle::EventQueue::Message> again;
  EXPECT_TRUE(eventually([&] {
    for (auto& m : queue.receive(10, 1000ms)) again.push_back(m);
    return !again.empty();
  }, 20s));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].body, "later");
  EXPECT_GE(again[0].delivery_count, 2);
  queue.ack({again[0].handle});
  // Dead-lettered: in the DLQ as it came.
  auto dead = drain(dlq_url(), 1);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].body, "{poison");
  EXPECT_TRUE(eventually([&] { return queue.depth() == 0; }, 15s));
}

TEST_F(AwsPipelineTest, AHeldMessagesLeaseIsExtendedSoNoOtherConsumerGetsIt) {
  init();
  SqsQueueOptions short_lease;
  short_lease.visibility_timeout_s = 2;  // extended every second
  SqsEventQueue holder(sqs, settings.queue_url, short_lease), other(sqs, settings.queue_url, short_lease);
  sqs->send_message_batch(settings.queue_url, {{"a", "slow", {}}}, deadline_after(10s));
  std::vector<toggle::EventQueue::Message> held;
  ASSERT_TRUE(eventually([&] {
    held = holder.receive(1, 1000ms);
    return !held.empty();
  }, 20s));
  // Three leases long, the other consumer polls in vain.
  auto until = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < until) EXPECT_TRUE(other.receive(10, 1000ms).empty());
  holder.ack({held[0].handle});
  std::this_thread::sleep_for(3s);
  EXPECT_TRUE(other.receive(10, 1000ms).empty());  // deleted, never redelivered
}

TEST_F(AwsPipelineTest, TheStoreKeepsEachEventOnceAndCountsItOnce) {
  init();
  DynamoEventStore store(db, settings.table, settings.counts_table);
  EXPECT_EQ(store.readiness(), "");
  std::vector<Event> batch;
  for (int i = 0; i < 60; ++i) batch.push_back(event(i % 3 ? "alpha" : "beta", "2026-11-30T13:00:00.000Z", i % 4 != 0));
  batch.push_back(batch[0]);  // a duplicate within the batch
  EXPECT_EQ(store.store(batch), 60u);
  EXPECT_EQ(store.store(batch), 0u);  // redelivered: nothing new, nothing counted
  std::vector<Event> more = {batch[1], event("alpha", "2026-11-30T13:00:01.000Z", false)};
  EXPECT_EQ(store.store(more), 1u);
  EXPECT_EQ(store.uncounted(), 0u);

  auto expect_summary = [&](const std::string& flag) {
    std::int64_t t = 0, f = 0;
    std::set<std::string> seen;
    for (const auto* list : {&batch, &more})
      for (const auto& e : *list)
        if (e.flag_name == flag && seen.insert(e.event_id).second) (e.result ? t : f)++;
    auto s = store.summary(flag);
    EXPECT_EQ(s.true_count, t) << flag;
    EXPECT_EQ(s.false_count, f) << flag;
  };
  expect_summary("alpha");
  expect_summary("beta");
  EXPECT_EQ(store.summary("never").true_count + store.summary("never").false_count, 0);

  // The item, as other tools read it: the original's attributes.
  auto item = db->get_item(settings.table, {{"event_id", AttributeValue::string(batch[5].event_id)}}, deadline_after(10s));
  ASSERT_TRUE(item);
  EXPECT_EQ(event_from_item(*item), batch[5]);
  EXPECT_EQ(item->at("result"), AttributeValue::boolean(batch[5].result));
}

Event served(const std::string& flag, const std::string& variant, const std::string& reason) {
  Event e = event(flag, "2026-11-30T13:00:00.000Z", variant != "off");
  e.variant = variant;
  e.reason = reason;
  return e;
}

using Counts = std::map<std::string, std::int64_t>;

TEST_F(AwsPipelineTest, TheStoreCountsEachVariantAndReasonOnce) {
  init();
  DynamoEventStore store(db, settings.table, settings.counts_table);
  std::vector<Event> batch = {served("paint", "blue", "SPLIT"),  served("paint", "blue", "SPLIT"),
                              served("paint", "red", "SPLIT"),   served("paint", "off", "DISABLED"),
                              served("other", "blue", "STATIC"), event("paint", "2026-11-30T13:00:00.000Z")};
  batch.push_back(batch[0]);  // a duplicate within the batch
  EXPECT_EQ(store.store(batch), 6u);
  EXPECT_EQ(store.store(batch), 0u);  // redelivered: nothing counted again
  EXPECT_EQ(store.store({batch[2], served("paint", "red", "TARGETING_MATCH")}), 1u);

  auto paint = store.summary("paint");
  EXPECT_EQ(paint.true_count, 5);
  EXPECT_EQ(paint.false_count, 1);
  EXPECT_EQ(paint.variants, (Counts{{"blue", 2}, {"red", 2}, {"off", 1}}));
  EXPECT_EQ(paint.reasons, (Counts{{"SPLIT", 3}, {"DISABLED", 1}, {"TARGETING_MATCH", 1}}));
  EXPECT_EQ(store.summary("other").variants, (Counts{{"blue", 1}}));
  // Events that name no variant (/evaluate's): no variant counts at all.
  ASSERT_EQ(store.store({event("plain", "2026-11-30T13:00:00.000Z")}), 1u);
  auto plain = store.summary("plain");
  EXPECT_EQ(plain.true_count, 1);
  EXPECT_TRUE(plain.variants.empty());
  EXPECT_TRUE(plain.reasons.empty());
}

TEST_F(AwsPipelineTest, RecentMergesEveryShardAndDayNewestFirstAsSqlDoes) {
  init();
  DynamoEventStore store(db, settings.table, settings.counts_table);
  std::mt19937 random(7);
  std::vector<Event> all;
  const char* days[] = {"2026-11-28", "2026-11-29", "2026-11-30"};
  for (int i = 0; i < 240; ++i) {
    char ts[32];
    // Few distinct times: ties are ordered by event_id.
    std::snprintf(ts, sizeof ts, "%sT1%d:00:0%d.000Z", days[random() % 3], int(random() % 3), int(random() % 4));
    all.push_back(event(i % 2 ? "red" : "green", ts, random() % 2));
  }
  for (std::size_t i = 0; i < all.size(); i += 50)
    store.store(std::vector<Event>(all.begin() + i, all.begin() + std::min(all.size(), i + 50)));
  std::sort(all.begin(), all.end(), newer);

  auto expect_newest = [&](const std::optional<std::string>& flag, std::size_t limit) {
    std::vector<Event> expected;
    for (const auto& e : all)
      if ((!flag || e.flag_name == *flag) && expected.size() < limit) expected.push_back(e);
    auto got = store.recent(flag, limit);
    ASSERT_EQ(got.size(), expected.size()) << (flag ? *flag : "all") << " " << limit;
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], expected[i]) << i;
  };
  expect_newest("red", 1);
  expect_newest("red", 50);
  expect_newest("green", 10000);  // all of it: 120
  expect_newest(std::nullopt, 7);
  expect_newest(std::nullopt, 100);  // over a day boundary
  expect_newest(std::nullopt, 10000);
  EXPECT_TRUE(store.recent(std::string("none"), 100).empty());
}

TEST_F(AwsPipelineTest, AStoppedWritersJournaledBatchesAreCountedOnceByAnotherProcess) {
  init();
  DynamoEventStore live(db, settings.table, settings.counts_table);
  Event earlier = event("rec", "2026-11-30T13:00:00.000Z", true);
  ASSERT_EQ(live.store({earlier}), 1u);
  // What a process killed mid-way leaves: batch 1 counted but its journal not deleted yet; batch
  // 2 journaled and written (x, y; z never got written; `earlier` was a redelivery) but not counted.
  const std::string writer = "writer#dead", token1 = writer + "#000000000001", token2 = writer + "#000000000002";
  Event a = event("rec", "2026-11-30T13:00:01.000Z", true), b = event("rec", "2026-11-30T13:00:01.000Z", false);
  Event x = event("rec", "2026-11-30T13:00:02.000Z", true), y = event("rec", "2026-11-30T13:00:02.000Z", false),
        z = event("rec", "2026-11-30T13:00:02.000Z", true);
  x.variant = "blue";
  x.reason = "SPLIT";
  auto put = [&](Item item) { ASSERT_TRUE(db->put_item({settings.counts_table, std::move(item)}, deadline_after(10s))); };
  auto journal = [&](int seq, const std::string& token, const std::string& ids) {
    put({{"flag_name", AttributeValue::string("#journal#" + std::to_string(seq % 8))},
         {"part", AttributeValue::string(token)},
         {"writer", AttributeValue::string(writer)},
         {"seq", AttributeValue::number(std::int64_t{seq})},
         {"event_ids", AttributeValue::string(ids)},
         {"created_ms", AttributeValue::number(std::int64_t{1})}});  // long ago
  };
  journal(1, token1, a.event_id + "," + b.event_id);
  journal(2, token2, x.event_id + "," + y.event_id + "," + z.event_id + "," + earlier.event_id);
  for (const auto& [e, token] : {std::pair{a, token1}, {b, token1}, {x, token2}, {y, token2}})
    ASSERT_TRUE(db->put_item({settings.table, event_item(e, token, "now")}, deadline_after(10s)));
  put({{"flag_name", AttributeValue::string("rec")},
       {"part", AttributeValue::string(writer)},
       {"true_count", AttributeValue::number(std::int64_t{1})},
       {"false_count", AttributeValue::number(std::int64_t{1})},
       {"seq", AttributeValue::number(std::int64_t{1})}});
  EXPECT_EQ(live.summary("rec").true_count, 2);  // earlier + a
  EXPECT_EQ(live.summary("rec").false_count, 1);  // b

  // Two processes recover at once: each batch still counts once.
  DynamoEventStore other(db, settings.table, settings.counts_table);
  std::size_t by_live = 0, by_other = 0;
  std::thread racing([&] { by_other = other.recover_journals(10000ms); });
  by_live = live.recover_journals(10000ms);
  racing.join();
  EXPECT_GE(by_live + by_other, 2u);
  EXPECT_EQ(live.summary("rec").true_count, 3);  // earlier, a, x
  EXPECT_EQ(live.summary("rec").false_count, 2);  // b, y
  EXPECT_EQ(live.summary("rec").variants, (Counts{{"blue", 1}}));  // x
  EXPECT_EQ(live.summary("rec").reasons, (Counts{{"SPLIT", 1}}));
  // The journals are gone; recovering again changes nothing.
  EXPECT_EQ(live.recover_journals(10000ms), 0u);
  EXPECT_EQ(live.summary("rec").true_count, 3);
  EXPECT_EQ(live.summary("rec").variants, (Counts{{"blue", 1}}));
  QueryRequest q;
  q.table = settings.counts_table;
  q.key_condition_expression = "flag_name = :j";
  q.values = {{":j", AttributeValue::string("#journal#2")}};
  EXPECT_TRUE(db->query(q, deadline_after(10s)).items.empty());
  // And a live writer's own journals are not left behind.
  EXPECT_TRUE(live.flush_counts(5000ms));
}

TEST_F(AwsPipelineTest, AMissingTableIsAnOutageNamingTheFix) {
  DynamoEventStore store(db, settings.table, settings.counts_table);  // never created
  EXPECT_NE(store.readiness().find("does not exist (create it: scripts/init-cloud.sh aws)"), std::string::npos)
      << store.readiness();
  try {
    store.store({event("f", "2026-11-30T13:00:00.000Z")});
    FAIL() << "stored into no table";
  } catch (const toggle::Error& e) {
    EXPECT_EQ(e.kind(), toggle::ErrorKind::unavailable);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

}  // namespace
