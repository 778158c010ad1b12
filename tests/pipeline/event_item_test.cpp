// How an event is written to DynamoDB (the item, its index keys) and read from a queue message.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "event_consumer.hpp"
#include "toggle/cloud/aws_pipeline.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/error.hpp"

namespace {

using toggle::Event;
using toggle::cloud::AttributeValue;
using toggle::cloud::Item;

Event sample() {
  return {"0190b9e2-7d3c-7a01-8c6f-0123456789ab", "user-123", "test-checkout", true, "2026-11-30T13:05:07.123Z", "", ""};
}

TEST(EventItem, CarriesTheEventsFieldsUnderTheirOwnNamesAsTheOriginalDid) {
  Event e = sample();
  Item item = toggle::cloud::event_item(e, "token-1", "2026-11-30T13:05:08.000Z");
  // The original's put_item: event_id, user_id, flag_name, result (BOOL), timestamp.
  EXPECT_EQ(item.at("event_id"), AttributeValue::string(e.event_id));
  EXPECT_EQ(item.at("user_id"), AttributeValue::string("user-123"));
  EXPECT_EQ(item.at("flag_name"), AttributeValue::string("test-checkout"));
  EXPECT_EQ(item.at("result"), AttributeValue::boolean(true));
  EXPECT_EQ(item.at("timestamp"), AttributeValue::string("2026-11-30T13:05:07.123Z"));
  EXPECT_FALSE(item.count("variant"));
  EXPECT_FALSE(item.count("reason"));
  // Our index keys, spread over the shards by the event id.
  int shard = toggle::cloud::event_shard(e.event_id);
  char suffix[4];
  std::snprintf(suffix, sizeof suffix, "#%02d", shard);
  EXPECT_EQ(item.at("flag_shard").as_string(), std::string("test-checkout") + suffix);
  EXPECT_EQ(item.at("day_shard").as_string(), std::string("2026-11-30") + suffix);
  EXPECT_EQ(item.at("time_key").as_string(), "2026-11-30T13:05:07.123Z#" + e.event_id);
  EXPECT_EQ(item.at("write_token").as_string(), "token-1");

  // DynamoDB's JSON form: what other tools read in the table.
  auto j = toggle::cloud::to_dynamodb_json(item);
  EXPECT_EQ(j["result"], nlohmann::json::parse(R"({"BOOL":true})"));
  EXPECT_EQ(j["user_id"], nlohmann::json::parse(R"({"S":"user-123"})"));
}

TEST(EventItem, VariantAndReasonOnlyWhenSetAndTheEventReadsBack) {
  Event e = sample();
  EXPECT_EQ(toggle::cloud::event_from_item(toggle::cloud::event_item(e, "t", "now")), e);
  e.variant = "blue";
  e.reason = "SPLIT";
  e.result = false;
  Item item = toggle::cloud::event_item(e, "t", "now");
  EXPECT_EQ(item.at("variant"), AttributeValue::string("blue"));
  EXPECT_EQ(item.at("reason"), AttributeValue::string("SPLIT"));
  EXPECT_EQ(item.at("result"), AttributeValue::boolean(false));
  EXPECT_EQ(toggle::cloud::event_from_item(item), e);
}

TEST(EventItem, AnItemThatIsNotAnEventIsNamed) {
  Item item = toggle::cloud::event_item(sample(), "t", "now");
  item.erase("user_id");
  try {
    toggle::cloud::event_from_item(item);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'user_id'"), std::string::npos) << e.what();
  }
  item = toggle::cloud::event_item(sample(), "t", "now");
  item["result"] = AttributeValue::string("true");  // a string is not the original's BOOL
  EXPECT_THROW(toggle::cloud::event_from_item(item), std::invalid_argument);
}

TEST(EventItem, ShardsAreStableAndSpreadTheWrites) {
  EXPECT_EQ(toggle::cloud::event_shard("abc"), toggle::cloud::event_shard("abc"));
  std::map<int, int> per_shard;
  for (int i = 0; i < 32000; ++i) per_shard[toggle::cloud::event_shard(toggle::crypto::uuid_v7())]++;
  ASSERT_EQ(per_shard.size(), static_cast<std::size_t>(toggle::cloud::kEventShards));
  for (const auto& [shard, n] : per_shard) {
    EXPECT_GE(shard, 0);
    EXPECT_LT(shard, toggle::cloud::kEventShards);
    EXPECT_GT(n, 700) << shard;  // about 1,000 each
    EXPECT_LT(n, 1300) << shard;
  }
}

TEST(EventItem, TimeKeysSortAsEventsAreListed) {
  Event a = sample(), b = sample();
  b.timestamp = "2026-11-30T13:05:07.124Z";
  b.event_id = "0000";  // a later time wins over any id
  EXPECT_LT(toggle::cloud::event_time_key(a), toggle::cloud::event_time_key(b));
  b.timestamp = a.timestamp;
  b.event_id = "ffff";  // the same time: by event_id, as SQL orders them
  EXPECT_LT(toggle::cloud::event_time_key(a), toggle::cloud::event_time_key(b));
}

TEST(EventMessage, TheContractsJsonIsParsed) {
  Event e = toggle::analytics::parse_event_message(
      R"({"event_id":"e-1","user_id":"u1","flag_name":"f","result":false,"timestamp":"2026-11-30T13:00:00Z","variant":"v","reason":"STATIC"})");
  EXPECT_EQ(e, (Event{"e-1", "u1", "f", false, "2026-11-30T13:00:00.000Z", "v", "STATIC"}));
}

TEST(EventMessage, AnOriginalProducersMessageGetsAnIdFromItsContent) {
  // The original's body: no event_id, nanoseconds.
  const char* body = R"({"user_id":"u1","flag_name":"x","result":true,"timestamp":"2025-06-11T17:03:07.123456789Z"})";
  Event e = toggle::analytics::parse_event_message(body);
  EXPECT_EQ(e.timestamp, "2025-06-11T17:03:07.123Z");
  EXPECT_EQ(e.event_id, toggle::content_event_id(e));
  EXPECT_EQ(e.event_id.size(), 36u);
  // Delivered twice: the same id, so it is stored once.
  EXPECT_EQ(toggle::analytics::parse_event_message(body).event_id, e.event_id);
  // Another event: another id.
  EXPECT_NE(toggle::analytics::parse_event_message(
                R"({"user_id":"u2","flag_name":"x","result":true,"timestamp":"2025-06-11T17:03:07.123456789Z"})")
                .event_id,
            e.event_id);
}

TEST(EventMessage, WhatCanNeverBeAnEventSaysWhy) {
  auto why = [](const char* body) {
    try {
      toggle::analytics::parse_event_message(body);
    } catch (const toggle::Error& e) {
      EXPECT_EQ(e.kind(), toggle::ErrorKind::invalid);
      return std::string(e.what());
    }
    return std::string("parsed");
  };
  EXPECT_EQ(why("not json"), "the message is not JSON");
  EXPECT_NE(why("[1,2]").find("must be an object"), std::string::npos);
  EXPECT_NE(why(R"({"user_id":"u","flag_name":"f","result":true})").find("timestamp is required"), std::string::npos);
  EXPECT_NE(why(R"({"user_id":"u","flag_name":"bad name","result":true,"timestamp":"2026-01-01T00:00:00Z"})")
                .find("flag_name"),
            std::string::npos);
  EXPECT_NE(why(R"({"user_id":"u","flag_name":"f","result":"yes","timestamp":"2026-01-01T00:00:00Z"})").find("result"),
            std::string::npos);
}

}  // namespace
