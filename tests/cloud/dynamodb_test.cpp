// The DynamoDB client against dynalite: conditional writes ("condition failed" is an answer),
// counters with ADD, batched writes and reads over DynamoDB's per-call limits, queries on a global
// secondary index newest first with pagination, COUNT, idempotent table creation, errors.
#include "toggle/cloud/dynamodb.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "aws_emulators.hpp"

namespace {

using namespace std::chrono_literals;
using toggle::cloud::AttributeValue;
using toggle::cloud::AwsError;
using toggle::cloud::deadline_after;
using toggle::cloud::DynamoDbClient;
using toggle::cloud::Item;
using toggle::cloud::WriteOutcome;
using toggle::cloud::WriteRequest;

AttributeValue S(std::string s) { return AttributeValue::string(std::move(s)); }
AttributeValue N(std::int64_t n) { return AttributeValue::number(n); }

// The shape of the events table: keyed by event_id (as the original), with an index by flag and
// time for "newest events of one flag" and its counts.
toggle::cloud::TableSpec events_table(const std::string& name) {
  return {name,
          {{"event_id", "S"}, {"flag_name", "S"}, {"timestamp", "S"}},
          "event_id",
          "",
          {{"flag_time", "flag_name", "timestamp", "ALL", {}}}};
}

Item event(const std::string& id, const std::string& flag, const std::string& timestamp, bool result = true) {
  return {{"event_id", S(id)},
          {"flag_name", S(flag)},
          {"timestamp", S(timestamp)},
          {"user_id", S("user-" + id)},
          {"result", AttributeValue::boolean(result)}};
}

std::string two_digits(int i) { return (i < 10 ? "0" : "") + std::to_string(i); }

class DynamoDbTest : public testing::Test {
 protected:
  DynamoDbTest()
      : db({"dynamodb", "DynamoDB_20120810", testsupport::aws_emulators().dynamodb, "us-east-1"},
           toggle::cloud::static_credentials({testsupport::kTestAccessKeyId, testsupport::kTestSecretKey, "", {}})) {}

  std::string new_events_table() {
    std::string name = testsupport::unique_name("events");
    EXPECT_TRUE(db.create_table(events_table(name), deadline_after(10s)));
    db.wait_until_active(name, deadline_after(30s));
    return name;
  }

  DynamoDbClient db;
};

TEST_F(DynamoDbTest, TheSecondConditionalPutIsConditionFailed) {
  std::string table = new_events_table();
  toggle::cloud::PutItemRequest put{
      table, event("e1", "f", "2026-01-01T00:00:00.000Z"), "attribute_not_exists(event_id)", {}, {}};
  EXPECT_TRUE(db.put_item(put, deadline_after(10s)));
  put.item["user_id"] = S("someone-else");
  EXPECT_FALSE(db.put_item(put, deadline_after(10s)));
  auto stored = db.get_item(table, {{"event_id", S("e1")}}, deadline_after(10s), true);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->at("user_id").as_string(), "user-e1");  // the first write stands
  EXPECT_EQ(stored->at("result").as_bool(), true);
  EXPECT_FALSE(db.get_item(table, {{"event_id", S("nope")}}, deadline_after(10s)));
}

TEST_F(DynamoDbTest, ManyConditionalPutsInParallelReportEachOutcome) {
  std::string table = new_events_table();
  for (int i = 0; i < 5; ++i)
    db.put_item({table, event("e" + std::to_string(i), "f", "t"), "", {}, {}}, deadline_after(10s));
  std::vector<toggle::cloud::PutItemRequest> puts;
  for (int i = 0; i < 40; ++i)
    puts.push_back(
        {table, event("e" + std::to_string(i), "f", "t"), "attribute_not_exists(#id)", {{"#id", "event_id"}}, {}});
  puts.push_back({table, {{"flag_name", S("no key")}}, "", {}, {}});  // invalid: no event_id
  auto outcomes = db.put_items(puts, deadline_after(30s));
  ASSERT_EQ(outcomes.size(), 41u);
  for (int i = 0; i < 40; ++i) {
    auto expected = i < 5 ? WriteOutcome::Status::condition_failed : WriteOutcome::Status::written;
    EXPECT_EQ(outcomes[i].status, expected) << i << (outcomes[i].error ? outcomes[i].error->what() : "");
  }
  EXPECT_EQ(outcomes[40].status, WriteOutcome::Status::failed);
  ASSERT_TRUE(outcomes[40].error);
  EXPECT_EQ(outcomes[40].error->code(), "ValidationException");
  EXPECT_FALSE(outcomes[40].error->retryable());
}

TEST_F(DynamoDbTest, CountersAddWithACondition) {
  std::string table = testsupport::unique_name("counters");
  ASSERT_TRUE(db.create_table({table, {{"flag_name", "S"}}, "flag_name", "", {}}, deadline_after(10s)));
  db.wait_until_active(table, deadline_after(30s));
  toggle::cloud::UpdateItemRequest add{
      table,        {{"flag_name", S("checkout")}}, "ADD true_count :n, total_count :n", "", {}, {{":n", N(3)}},
      "UPDATED_NEW"};
  auto first = db.update_item(add, deadline_after(10s));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->at("true_count").as_int64(), 3);
  auto second = db.update_item(add, deadline_after(10s));
  EXPECT_EQ(second->at("true_count").as_int64(), 6);
  EXPECT_EQ(second->at("total_count").as_int64(), 6);

  add.condition_expression = "total_count < :limit";
  add.values[":limit"] = N(5);
  EXPECT_FALSE(db.update_item(add, deadline_after(10s)));  // 6 is not < 5: condition failed, nothing added
  auto item = db.get_item(table, {{"flag_name", S("checkout")}}, deadline_after(10s), true);
  EXPECT_EQ(item->at("true_count").as_int64(), 6);

  auto many = db.update_items({add, add}, deadline_after(10s));
  EXPECT_EQ(many[0].status, WriteOutcome::Status::condition_failed);
  EXPECT_EQ(many[1].status, WriteOutcome::Status::condition_failed);
}

TEST_F(DynamoDbTest, BatchWriteOfSixtyItemsAndBatchGet) {
  std::string table = new_events_table();
  std::vector<WriteRequest> writes;
  std::vector<Item> keys;
  for (int i = 0; i < 60; ++i) {
    std::string id = "b" + two_digits(i);
    writes.push_back(WriteRequest::put(event(id, "bulk", "2026-01-01T00:00:" + two_digits(i) + ".000Z")));
    keys.push_back({{"event_id", S(id)}});
  }
  writes.push_back(writes[3]);  // an identical request: sent once (DynamoDB refuses duplicates in one call)
  db.batch_write_item(table, writes, deadline_after(30s));

  keys.push_back({{"event_id", S("missing-1")}});
  keys.push_back(keys[0]);  // a duplicate key: asked once
  auto items = db.batch_get_item(table, keys, deadline_after(30s), true);
  EXPECT_EQ(items.size(), 60u);
  std::set<std::string> ids;
  for (const auto& item : items) ids.insert(item.at("event_id").as_string());
  EXPECT_EQ(ids.size(), 60u);

  std::vector<WriteRequest> deletes;
  for (int i = 0; i < 30; ++i) deletes.push_back(WriteRequest::remove({{"event_id", S("b" + two_digits(i))}}));
  db.batch_write_item(table, deletes, deadline_after(30s));
  EXPECT_EQ(db.batch_get_item(table, keys, deadline_after(30s), true).size(), 30u);
}

TEST_F(DynamoDbTest, QueryTheIndexNewestFirstPageByPage) {
  std::string table = new_events_table();
  std::vector<WriteRequest> writes;
  for (int i = 0; i < 23; ++i)
    writes.push_back(
        WriteRequest::put(event("a" + two_digits(i), "flag-a", "2026-01-01T00:00:" + two_digits(i) + ".000Z")));
  for (int i = 0; i < 5; ++i)
    writes.push_back(
        WriteRequest::put(event("b" + two_digits(i), "flag-b", "2026-01-01T00:00:" + two_digits(i) + ".000Z")));
  db.batch_write_item(table, writes, deadline_after(30s));

  toggle::cloud::QueryRequest query;
  query.table = table;
  query.index_name = "flag_time";
  query.key_condition_expression = "flag_name = :f";
  query.values = {{":f", S("flag-a")}};
  query.scan_index_forward = false;
  query.limit = 10;
  std::vector<std::string> timestamps;
  std::vector<std::size_t> page_sizes;
  for (int page = 0; page < 10; ++page) {
    auto result = db.query(query, deadline_after(10s));
    page_sizes.push_back(result.items.size());
    for (const auto& item : result.items) {
      EXPECT_EQ(item.at("flag_name").as_string(), "flag-a");
      timestamps.push_back(item.at("timestamp").as_string());
    }
    if (!result.last_evaluated_key) break;
    query.exclusive_start_key = result.last_evaluated_key;
  }
  EXPECT_EQ(page_sizes.front(), 10u);
  ASSERT_EQ(timestamps.size(), 23u);
  EXPECT_TRUE(std::is_sorted(timestamps.rbegin(), timestamps.rend())) << "not newest first";
  EXPECT_EQ(timestamps.front(), "2026-01-01T00:00:22.000Z");
  EXPECT_EQ(timestamps.back(), "2026-01-01T00:00:00.000Z");

  // Only the newest in a time range, projected.
  toggle::cloud::QueryRequest recent;
  recent.table = table;
  recent.index_name = "flag_time";
  recent.key_condition_expression = "flag_name = :f AND #t >= :since";
  recent.names = {{"#t", "timestamp"}};
  recent.values = {{":f", S("flag-a")}, {":since", S("2026-01-01T00:00:20.000Z")}};
  recent.projection_expression = "event_id, #t";
  auto result = db.query(recent, deadline_after(10s));
  ASSERT_EQ(result.items.size(), 3u);
  EXPECT_EQ(result.items[0].count("user_id"), 0u);
}

TEST_F(DynamoDbTest, SelectCountCountsEveryPage) {
  std::string table = new_events_table();
  std::vector<WriteRequest> writes;
  for (int i = 0; i < 40; ++i)
    writes.push_back(
        WriteRequest::put(event("c" + two_digits(i), i < 33 ? "counted" : "other", "t" + two_digits(i), i % 2 == 0)));
  db.batch_write_item(table, writes, deadline_after(30s));

  toggle::cloud::QueryRequest query;
  query.table = table;
  query.index_name = "flag_time";
  query.key_condition_expression = "flag_name = :f";
  query.values = {{":f", S("counted")}};
  query.limit = 10;  // forces several pages
  EXPECT_EQ(db.query_count(query, deadline_after(20s)), 33);

  query.filter_expression = "#r = :yes";
  query.names = {{"#r", "result"}};
  query.values[":yes"] = AttributeValue::boolean(true);
  EXPECT_EQ(db.query_count(query, deadline_after(20s)), 17);  // c00, c02, ..., c32

  query.limit.reset();
  query.count_only = true;
  auto one_page = db.query(query, deadline_after(10s));
  EXPECT_TRUE(one_page.items.empty());
  EXPECT_EQ(one_page.count, 17);
  EXPECT_EQ(one_page.scanned_count, 33);
}

TEST_F(DynamoDbTest, CreateTableIsIdempotentAndTablesBecomeActive) {
  std::string name = testsupport::unique_name("idem");
  EXPECT_TRUE(db.create_table(events_table(name), deadline_after(10s)));
  EXPECT_FALSE(db.create_table(events_table(name), deadline_after(10s)));  // ResourceInUseException is fine
  auto description = db.wait_until_active(name, deadline_after(30s));
  EXPECT_EQ(description.name, name);
  EXPECT_EQ(description.status, "ACTIVE");
  EXPECT_EQ(description.index_status, (std::map<std::string, std::string>{{"flag_time", "ACTIVE"}}));
  EXPECT_TRUE(description.active());
}

TEST_F(DynamoDbTest, MistakesAreNamedAndNotRetryable) {
  try {
    db.describe_table(testsupport::unique_name("missing"), deadline_after(10s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "ResourceNotFoundException");
    EXPECT_FALSE(e.retryable());
  }
  std::string table = new_events_table();
  try {
    db.put_item({table, {{"flag_name", S("no key")}}, "", {}, {}}, deadline_after(10s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "ValidationException");
    EXPECT_FALSE(e.retryable());
  }
  try {  // two different requests for one key in a batch write
    db.batch_write_item(table, {WriteRequest::put(event("k", "f", "1")), WriteRequest::put(event("k", "f", "2"))},
                        deadline_after(10s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "ValidationException");
  }
}

}  // namespace
