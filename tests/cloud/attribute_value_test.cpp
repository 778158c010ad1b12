// DynamoDB attribute values: construction, their JSON form on the wire (S, N, BOOL, NULL, M, L,
// numbers as strings), decoding with clear errors, and plain JSON conversions.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "toggle/cloud/dynamodb.hpp"

namespace {

using nlohmann::json;
using toggle::cloud::AttributeValue;
using toggle::cloud::Item;

TEST(AttributeValue, EncodesEveryTypeAsDynamoDbJson) {
  Item item = {
      {"s", AttributeValue::string("héllo")},
      {"n", AttributeValue::number(std::int64_t{-42})},
      {"f", AttributeValue::number("3.25")},
      {"b", AttributeValue::boolean(true)},
      {"z", AttributeValue::null()},
      {"m", AttributeValue::map({{"inner", AttributeValue::string("x")}})},
      {"l", AttributeValue::list({AttributeValue::number(std::int64_t{1}), AttributeValue::string("two")})},
  };
  json expected = json::parse(R"({
    "s": {"S": "héllo"}, "n": {"N": "-42"}, "f": {"N": "3.25"}, "b": {"BOOL": true}, "z": {"NULL": true},
    "m": {"M": {"inner": {"S": "x"}}}, "l": {"L": [{"N": "1"}, {"S": "two"}]}
  })");
  EXPECT_EQ(toggle::cloud::to_dynamodb_json(item), expected);
}

TEST(AttributeValue, DecodesWhatItEncodes) {
  Item item = {
      {"event_id", AttributeValue::string("e-1")},
      {"count", AttributeValue::number("12345678901234567890123456789012345678")},  // 38 digits: kept exactly
      {"nested",
       AttributeValue::map({{"list", AttributeValue::list({AttributeValue::boolean(false), AttributeValue::null()})}})},
  };
  auto wire = toggle::cloud::to_dynamodb_json(item);
  EXPECT_EQ(toggle::cloud::item_from_dynamodb_json(json::parse(wire.dump())), item);
  EXPECT_EQ(wire["count"]["N"], "12345678901234567890123456789012345678");
}

TEST(AttributeValue, NumbersAreValidatedAndKeptAsText) {
  for (const char* good : {"0", "-1", "3.5", "1E+3", "1e-130", ".5", "5.", "-0.001", "12345678901234567890"}) {
    EXPECT_NO_THROW(AttributeValue::number(std::string_view(good))) << good;
    EXPECT_EQ(AttributeValue::number(std::string_view(good)).number_text(), good);
  }
  for (const char* bad : {"", "-", "abc", "1.2.3", "1e", "0x10", "+1", " 1", "1 ", "NaN", "Infinity",
                          "123456789012345678901234567890123456789" /* 39 significant digits */}) {
    EXPECT_THROW(AttributeValue::number(std::string_view(bad)), std::invalid_argument) << bad;
  }
  EXPECT_THROW(AttributeValue::number(std::numeric_limits<double>::quiet_NaN()), std::invalid_argument);
  EXPECT_THROW(AttributeValue::number(std::numeric_limits<double>::infinity()), std::invalid_argument);
  EXPECT_EQ(AttributeValue::number(0.1).number_text(), "0.1");  // shortest text, not 0.1000000000000000055
  EXPECT_EQ(AttributeValue::number(std::int64_t{9007199254740993}).as_int64(), 9007199254740993);
}

TEST(AttributeValue, AccessorsNameTheTypeWhenItIsWrong) {
  auto s = AttributeValue::string("x");
  try {
    (void)s.as_int64();
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "the attribute is S, not N");
  }
  EXPECT_THROW((void)AttributeValue::number("1.5").as_int64(), std::invalid_argument);
  EXPECT_DOUBLE_EQ(AttributeValue::number("1.5").as_double(), 1.5);
  EXPECT_THROW((void)AttributeValue::null().as_bool(), std::invalid_argument);
  EXPECT_EQ(AttributeValue::map({{"a", AttributeValue::boolean(true)}}).find("a")->as_bool(), true);
  EXPECT_EQ(AttributeValue::map({}).find("a"), nullptr);
  EXPECT_EQ(AttributeValue::string("x").find("a"), nullptr);
}

TEST(AttributeValue, DecodingRejectsMalformedValuesWithAClearMessage) {
  auto fails = [](const char* text) {
    try {
      toggle::cloud::attribute_from_dynamodb_json(json::parse(text));
      return std::string("no exception");
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
  };
  EXPECT_NE(fails(R"({"S": 1})").find("not an attribute value"), std::string::npos);
  EXPECT_NE(fails(R"({"N": "one"})").find("not a DynamoDB number"), std::string::npos);
  EXPECT_NE(fails(R"({"S": "a", "N": "1"})").find("one member"), std::string::npos);
  EXPECT_NE(fails(R"("plain")").find("one member"), std::string::npos);
  EXPECT_NE(fails(R"({"SS": ["a"]})").find("SS is not supported"), std::string::npos);
  EXPECT_NE(fails(R"({"X": true})").find("not an attribute value"), std::string::npos);
  EXPECT_THROW(toggle::cloud::item_from_dynamodb_json(json::array()), std::invalid_argument);
}

TEST(AttributeValue, PlainJsonRoundTrip) {
  json event = json::parse(R"({"event_id":"e-1","user_id":"u","flag_name":"f","result":true,
                               "timestamp":"2026-01-01T00:00:00.000Z","n":7,"big":18446744073709551615,
                               "ratio":0.25,"none":null,"tags":["a",1]})");
  AttributeValue value = toggle::cloud::from_plain_json(event);
  ASSERT_EQ(value.type(), AttributeValue::Type::map);
  EXPECT_EQ(value.find("result")->as_bool(), true);
  EXPECT_EQ(value.find("n")->number_text(), "7");
  EXPECT_EQ(value.find("big")->number_text(), "18446744073709551615");
  EXPECT_TRUE(value.find("none")->is_null());
  json back = toggle::cloud::to_plain_json(value);
  EXPECT_EQ(back["event_id"], "e-1");
  EXPECT_EQ(back["n"], 7);
  EXPECT_EQ(back["ratio"], 0.25);
  EXPECT_EQ(back["tags"], json::parse(R"(["a",1])"));
  EXPECT_TRUE(back["none"].is_null());
}

}  // namespace
