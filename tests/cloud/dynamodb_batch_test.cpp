// What DynamoDB does under load and dynalite never does: BatchWriteItem / BatchGetItem answering
// with UnprocessedItems / UnprocessedKeys, and throttling whole calls. A fake DynamoDB in-process
// (fake_aws.hpp) answers so; the client must send back exactly what was left, until all is done or
// the deadline passes.
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "fake_aws.hpp"
#include "toggle/cloud/dynamodb.hpp"

namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using toggle::cloud::AttributeValue;
using toggle::cloud::AwsError;
using toggle::cloud::deadline_after;
using toggle::cloud::WriteRequest;

toggle::cloud::DynamoDbClient client_for(const fakeaws::FakeAws& aws) {
  toggle::cloud::AwsCallOptions options;
  options.base_backoff = 1ms;
  return toggle::cloud::DynamoDbClient({"dynamodb", "DynamoDB_20120810", aws.url(), "us-east-1"},
                                       toggle::cloud::static_credentials({"AKIDEXAMPLE", "secret", "", {}}), options);
}

std::vector<WriteRequest> puts(int n) {
  std::vector<WriteRequest> out;
  for (int i = 0; i < n; ++i)
    out.push_back(WriteRequest::put({{"event_id", AttributeValue::string("e" + std::to_string(i))}}));
  return out;
}

std::vector<std::string> ids_in(const json& requests) {
  std::vector<std::string> ids;
  for (const auto& r : requests) ids.push_back(r["PutRequest"]["Item"]["event_id"]["S"].get<std::string>());
  return ids;
}

TEST(DynamoDbBatchWrite, UnprocessedItemsAreSentAgainUntilAllAreWritten) {
  fakeaws::FakeAws aws;
  std::mutex mutex;
  std::multiset<std::string> written;
  aws.service = [&](const fakeaws::Seen& seen, int) {
    json request = json::parse(seen.body);
    json items = request["RequestItems"]["events"];
    EXPECT_LE(items.size(), 25u);
    // Leave the last two of every call unprocessed.
    json left = json::array();
    std::lock_guard lock(mutex);
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items.size() > 2 && i + 2 >= items.size())
        left.push_back(items[i]);
      else
        written.insert(items[i]["PutRequest"]["Item"]["event_id"]["S"].get<std::string>());
    }
    json reply = {{"UnprocessedItems", json::object()}};
    if (!left.empty()) reply["UnprocessedItems"]["events"] = left;
    return fakeaws::Answer{200, reply.dump()};
  };
  client_for(aws).batch_write_item("events", puts(60), deadline_after(20s));
  EXPECT_EQ(written.size(), 60u);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(written.count("e" + std::to_string(i)), 1u) << i;
  // 3 calls (25, 25, 10), then the 6 left over in one call (4 written, 2 left), then 2 (both).
  EXPECT_EQ(aws.service_requests().size(), 5u);
  EXPECT_EQ(ids_in(json::parse(aws.service_requests()[3].body)["RequestItems"]["events"]).size(), 6u);
}

TEST(DynamoDbBatchWrite, ThrottledCallsAreRetriedToo) {
  fakeaws::FakeAws aws;
  aws.service = [](const fakeaws::Seen&, int i) {
    if (i < 4)  // the first call and its retries: throttled
      return fakeaws::Answer{
          400,
          R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"})"};
    return fakeaws::Answer{200, R"({"UnprocessedItems":{}})"};
  };
  client_for(aws).batch_write_item("events", puts(10), deadline_after(20s));
  EXPECT_EQ(aws.service_requests().size(), 5u);  // 3 attempts, then the batch again after a backoff: 2 more
}

TEST(DynamoDbBatchWrite, WhatIsLeftAtTheDeadlineIsARetryableError) {
  fakeaws::FakeAws aws;
  aws.service = [](const fakeaws::Seen& seen, int) {
    json request = json::parse(seen.body);
    return fakeaws::Answer{200, json{{"UnprocessedItems", request["RequestItems"]}}.dump()};  // nothing, ever
  };
  try {
    client_for(aws).batch_write_item("events", puts(30), deadline_after(500ms));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "UnprocessedItems");
    EXPECT_TRUE(e.retryable());
    EXPECT_NE(e.message().find("30 of 30"), std::string::npos) << e.message();
  }
}

TEST(DynamoDbBatchWrite, ANonRetryableErrorStopsAtOnce) {
  fakeaws::FakeAws aws;
  aws.service = [](const fakeaws::Seen&, int) {
    return fakeaws::Answer{
        400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"no table"})"};
  };
  try {
    client_for(aws).batch_write_item("events", puts(5), deadline_after(10s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "ResourceNotFoundException");
  }
  EXPECT_EQ(aws.service_requests().size(), 1u);
}

TEST(DynamoDbBatchGet, UnprocessedKeysAreAskedAgain) {
  fakeaws::FakeAws aws;
  aws.service = [](const fakeaws::Seen& seen, int) {
    json request = json::parse(seen.body);
    json keys = request["RequestItems"]["events"]["Keys"];
    EXPECT_LE(keys.size(), 100u);
    EXPECT_EQ(request["RequestItems"]["events"]["ConsistentRead"], true);
    json found = json::array(), left = json::array();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i % 3 == 0 && keys.size() > 1)
        left.push_back(keys[i]);
      else
        found.push_back({{"event_id", keys[i]["event_id"]}, {"n", {{"N", "1"}}}});
    }
    json reply = {{"Responses", {{"events", found}}}, {"UnprocessedKeys", json::object()}};
    if (!left.empty()) reply["UnprocessedKeys"]["events"] = {{"Keys", left}};
    return fakeaws::Answer{200, reply.dump()};
  };
  std::vector<toggle::cloud::Item> keys;
  for (int i = 0; i < 150; ++i) keys.push_back({{"event_id", AttributeValue::string("k" + std::to_string(i))}});
  auto items = client_for(aws).batch_get_item("events", keys, deadline_after(20s), true);
  std::set<std::string> ids;
  for (const auto& item : items) {
    ids.insert(item.at("event_id").as_string());
    EXPECT_EQ(item.at("n").as_int64(), 1);
  }
  EXPECT_EQ(ids.size(), 150u);
  EXPECT_EQ(items.size(), 150u);
}

}  // namespace
