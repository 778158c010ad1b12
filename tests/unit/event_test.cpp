// Unit tests for libs/core event.hpp, the evaluation event contract that evaluation-service emits,
// every transport carries and analytics-service stores: parsing with errors that name the event and
// the field, timestamps normalised to UTC with milliseconds, content-derived ids, and the JSON that
// is sent (to_json_array) read back by parse_event_batch.
#include "toggle/core/event.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "toggle/core/error.hpp"

namespace {

using nlohmann::json;
using toggle::Event;

json valid() {
  return {{"event_id", "0190f3a2-7c1e-7000-8000-000000000001"},
          {"user_id", "user-1"},
          {"flag_name", "checkout"},
          {"result", true},
          {"timestamp", "2026-11-30T13:00:00.000Z"}};
}

// The message of the invalid_event error parse_event throws, or "" (and a failure) if it accepts.
std::string refusal(const json& j, const std::string& where = "event", bool id_required = true) {
  try {
    toggle::parse_event(j, where, id_required);
  } catch (const toggle::Error& e) {
    EXPECT_EQ(e.kind(), toggle::ErrorKind::invalid);
    EXPECT_EQ(e.code(), "invalid_event");
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << j.dump();
  return "";
}

TEST(ParseEventTest, AcceptsAValidEvent) {
  Event e = toggle::parse_event(valid());
  EXPECT_EQ(e.event_id, "0190f3a2-7c1e-7000-8000-000000000001");
  EXPECT_EQ(e.user_id, "user-1");
  EXPECT_EQ(e.flag_name, "checkout");
  EXPECT_TRUE(e.result);
  EXPECT_EQ(e.timestamp, "2026-11-30T13:00:00.000Z");
  EXPECT_EQ(e.variant, "");
  EXPECT_EQ(e.reason, "");

  json with = valid();
  with["variant"] = "blue";
  with["reason"] = "TARGETING_MATCH";
  with["unknown_field"] = 1;  // ignored: a newer producer may send more
  Event v = toggle::parse_event(with);
  EXPECT_EQ(v.variant, "blue");
  EXPECT_EQ(v.reason, "TARGETING_MATCH");
  json nulls = valid();
  nulls["variant"] = nullptr;
  nulls["reason"] = nullptr;
  EXPECT_EQ(toggle::parse_event(nulls).variant, "") << "null is absent";
}

TEST(ParseEventTest, ErrorsNameTheEventAndTheField) {
  struct Case {
    const char* field;
    json value;  // nullptr with erase=true: the field is missing
    bool erase;
  };
  const std::vector<Case> cases = {
      {"event_id", nullptr, true},
      {"event_id", "", false},
      {"event_id", std::string(65, 'e'), false},
      {"event_id", 7, false},
      {"user_id", nullptr, true},
      {"user_id", "", false},
      {"user_id", std::string(257, 'u'), false},
      {"user_id", "a\nb", false},
      {"user_id", 42, false},
      {"flag_name", nullptr, true},
      {"flag_name", "a/b", false},
      {"flag_name", "..", false},
      {"flag_name", std::string(101, 'f'), false},
      {"result", nullptr, true},
      {"result", "true", false},
      {"result", 1, false},
      {"result", nullptr, false},
      {"timestamp", nullptr, true},
      {"timestamp", 1764507600, false},
      {"timestamp", "yesterday", false},
      {"timestamp", "2026-11-30T13:00:00", false},
      {"timestamp", "2026-02-29T13:00:00Z", false},
      {"timestamp", std::string(41, '1'), false},
      {"variant", std::string(101, 'v'), false},
      {"variant", 3, false},
      {"reason", std::string(33, 'r'), false},
  };
  for (const auto& c : cases) {
    json j = valid();
    if (c.erase)
      j.erase(c.field);
    else
      j[c.field] = c.value;
    SCOPED_TRACE(j.dump());
    std::string message = refusal(j, "events[3]");
    EXPECT_NE(message.find(std::string("events[3].") + c.field), std::string::npos) << message;
  }
  for (const json& not_an_object : {json("event"), json::array(), json(nullptr), json(5)}) {
    std::string message = refusal(not_an_object, "events[0]");
    EXPECT_NE(message.find("events[0]"), std::string::npos) << message;
  }
}

TEST(ParseEventTest, TheTimestampErrorShowsWhatWasSent) {
  json j = valid();
  j["timestamp"] = "30/11/2026 13:00";
  std::string message = refusal(j);
  EXPECT_NE(message.find("RFC 3339"), std::string::npos) << message;
  EXPECT_NE(message.find("30/11/2026 13:00"), std::string::npos) << message;
}

TEST(ParseEventTest, LimitsCountCharactersNotBytes) {
  std::string e_acute = "\xc3\xa9";
  json j = valid();
  std::string user;
  for (int i = 0; i < 256; ++i) user += e_acute;  // 512 bytes
  j["user_id"] = user;
  EXPECT_EQ(toggle::parse_event(j).user_id, user);
  j["user_id"] = user + "x";
  EXPECT_NE(refusal(j).find("user_id"), std::string::npos);
}

TEST(ParseEventTest, TimestampsAreNormalisedToUtcWithMilliseconds) {
  struct Case {
    const char* sent;
    const char* stored;
  };
  for (const auto& c : std::vector<Case>{
           {"2026-11-30T13:00:00Z", "2026-11-30T13:00:00.000Z"},
           {"2026-11-30T14:00:00+05:00", "2026-11-30T09:00:00.000Z"},
           {"2026-11-30T22:30:00-02:00", "2026-12-01T00:30:00.000Z"},
           {"2026-11-30T13:00:00.5Z", "2026-11-30T13:00:00.500Z"},
           {"2026-11-30T13:00:00.123456+00:00", "2026-11-30T13:00:00.123Z"},
           {"2026-11-30t13:00:00z", "2026-11-30T13:00:00.000Z"},
           {"2024-02-29T23:59:59.999-00:01", "2024-03-01T00:00:59.999Z"},
       }) {
    json j = valid();
    j["timestamp"] = c.sent;
    EXPECT_EQ(toggle::parse_event(j).timestamp, c.stored) << c.sent;
  }
}

TEST(ContentEventIdTest, IsDeterministicAndDependsOnWhatTheEventSays) {
  Event e{"", "user-1", "checkout", true, "2026-11-30T13:00:00.000Z"};
  std::string id = toggle::content_event_id(e);
  EXPECT_EQ(toggle::content_event_id(e), id) << "the same message twice: the same id";
  // A UUID: 8-4-4-4-12 lowercase hex, version 8, RFC 9562 variant.
  ASSERT_EQ(id.size(), 36u) << id;
  for (std::size_t i : {8u, 13u, 18u, 23u}) EXPECT_EQ(id[i], '-') << id;
  for (char c : id) {
    if (c != '-') {
      EXPECT_TRUE(std::isxdigit(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c))) << id;
    }
  }
  EXPECT_EQ(id[14], '8') << id;
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;

  std::set<std::string> ids = {id};
  Event other = e;
  other.user_id = "user-2";
  ids.insert(toggle::content_event_id(other));
  other = e;
  other.flag_name = "other";
  ids.insert(toggle::content_event_id(other));
  other = e;
  other.result = false;
  ids.insert(toggle::content_event_id(other));
  other = e;
  other.timestamp = "2026-11-30T13:00:00.001Z";
  ids.insert(toggle::content_event_id(other));
  // Fields are not just concatenated: moving text from one field to the next changes the id.
  other = e;
  other.user_id = "user-1c";
  other.flag_name = "heckout";
  ids.insert(toggle::content_event_id(other));
  EXPECT_EQ(ids.size(), 6u);

  other = e;
  other.event_id = "ignored";
  other.variant = "blue";
  EXPECT_EQ(toggle::content_event_id(other), id) << "what the event says: user, flag, result, time";
}

TEST(ContentEventIdTest, AnEventWithoutAnIdGetsItsContentIdWhenIdsAreOptional) {
  json j = valid();
  j.erase("event_id");
  EXPECT_NE(refusal(j).find("event_id"), std::string::npos) << "required by default";
  Event e = toggle::parse_event(j, "message", false);
  EXPECT_EQ(e.event_id, toggle::content_event_id(e));
  // The same message in another offset is the same event.
  json shifted = j;
  shifted["timestamp"] = "2026-11-30T14:00:00+01:00";
  EXPECT_EQ(toggle::parse_event(shifted, "message", false).event_id, e.event_id);
}

TEST(EventJsonTest, ToJsonArrayReadsBackAsTheSameEvents) {
  std::vector<Event> events = {
      {"id-1", "user-1", "checkout", true, "2026-11-30T13:00:00.000Z"},
      {"id-2", "a\"b\\c <d>/'x", "beta.v2_x-y", false, "2026-11-30T13:00:00.001Z", "blue", "SPLIT"},
      {"id-3", "jos\xc3\xa9 \xf0\x9f\x98\x80", "f", true, "1999-12-31T23:59:59.999Z", "", "DEFAULT"},
  };
  std::string text = toggle::to_json_array(events);
  json parsed = json::parse(text);  // valid JSON
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_FALSE(parsed[0].contains("variant")) << "absent when empty";
  EXPECT_FALSE(parsed[0].contains("reason"));
  EXPECT_EQ(parsed[1]["variant"], "blue");
  EXPECT_EQ(toggle::parse_event_batch(text), events);
  EXPECT_EQ(toggle::to_json_array(std::vector<Event>{}), "[]");
  EXPECT_TRUE(toggle::parse_event_batch("[]").empty());

  std::string one;
  toggle::append_json(one, events[0]);
  EXPECT_EQ(json::parse(one), parsed[0]);
}

TEST(EventBatchTest, ErrorsNameTheEventByItsIndex) {
  json batch = json::array({valid(), valid(), valid()});
  batch[2]["flag_name"] = "a b";
  try {
    toggle::parse_event_batch(batch.dump());
    FAIL() << "accepted";
  } catch (const toggle::Error& e) {
    EXPECT_EQ(e.code(), "invalid_event");
    EXPECT_NE(std::string(e.what()).find("events[2].flag_name"), std::string::npos) << e.what();
  }
  for (std::string body : {"", "{", "{}", R"({"events":[]})", "\"x\"", "null"}) {
    try {
      toggle::parse_event_batch(body);
      ADD_FAILURE() << "accepted " << body;
    } catch (const toggle::Error& e) {
      EXPECT_EQ(e.kind(), toggle::ErrorKind::invalid) << body;
      EXPECT_EQ(e.code(), "invalid_json") << body;
    }
  }
}

TEST(EventBatchTest, AtMostTheBatchLimit) {
  std::string most = "[";
  for (std::size_t i = 0; i < toggle::kMaxBatchEvents; ++i) {
    json e = valid();
    e["event_id"] = "e" + std::to_string(i);
    most += (i ? "," : "") + e.dump();
  }
  EXPECT_EQ(toggle::parse_event_batch(most + "]").size(), toggle::kMaxBatchEvents);
  try {
    toggle::parse_event_batch(most + "," + valid().dump() + "]");
    FAIL() << "accepted one event too many";
  } catch (const toggle::Error& e) {
    EXPECT_EQ(e.kind(), toggle::ErrorKind::too_large);
    EXPECT_EQ(e.code(), "too_many_events");
  }
}

}  // namespace
