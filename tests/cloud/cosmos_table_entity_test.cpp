// Entities to and from the Table API's JSON, and the $batch body and response (pure code).
#include "toggle/cloud/cosmos_table_entity.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cosmos_table_internal.hpp"  // libs/cloud/src: the batch body and response
#include "toggle/cloud/cosmos_table_client.hpp"

using namespace toggle::cloud;
using nlohmann::json;

namespace {

TableDateTime utc(int y, unsigned m, unsigned d, int h, int min, int s, int micros) {
  using namespace std::chrono;
  return {sys_days(year(y) / month(m) / day(d)) + hours(h) + minutes(min) + seconds(s) + microseconds(micros)};
}

}  // namespace

TEST(TableEntityJson, EncodesTypesWithTheirAnnotations) {
  TableEntity e{"flag-a", "0190c4f0-7d6e-7000-8000-000000000001", {}, ""};
  e.properties["user_id"] = std::string("user-123");
  e.properties["result"] = true;
  e.properties["count"] = std::int64_t{9007199254740993};  // above 2^53: must travel as a string
  e.properties["ratio"] = 0.25;
  e.properties["stored_at"] = utc(2025, 6, 11, 17, 3, 7, 123456);
  json j = json::parse(encode_table_entity(e));
  EXPECT_EQ(j, json::parse(R"({
    "PartitionKey": "flag-a", "RowKey": "0190c4f0-7d6e-7000-8000-000000000001",
    "user_id": "user-123", "result": true,
    "count": "9007199254740993", "count@odata.type": "Edm.Int64",
    "ratio": 0.25, "ratio@odata.type": "Edm.Double",
    "stored_at": "2025-06-11T17:03:07.1234560Z", "stored_at@odata.type": "Edm.DateTime"})"));
}

TEST(TableEntityJson, DecodesMinimalMetadata) {
  // What the service answers with odata=minimalmetadata.
  auto e = decode_table_entity(R"({
    "odata.etag": "W/\"datetime'2025-06-11T17%3A03%3A07.1234567Z'\"",
    "PartitionKey": "flag-a", "RowKey": "r1",
    "Timestamp": "2025-06-11T17:03:07.1234567Z",
    "user_id": "user-123", "result": false, "small": 42,
    "count@odata.type": "Edm.Int64", "count": "-5",
    "ratio": 1.5,
    "stored_at@odata.type": "Edm.DateTime", "stored_at": "2025-06-11T17:03:07.1234567Z",
    "id@odata.type": "Edm.Guid", "id": "c9da6455-213d-42c9-9a79-3e9149a57833"})");
  EXPECT_EQ(e.partition_key, "flag-a");
  EXPECT_EQ(e.row_key, "r1");
  EXPECT_EQ(e.etag, "W/\"datetime'2025-06-11T17%3A03%3A07.1234567Z'\"");
  EXPECT_EQ(e.properties.count("Timestamp"), 0u);
  EXPECT_EQ(*e.get<std::string>("user_id"), "user-123");
  EXPECT_EQ(*e.get<bool>("result"), false);
  EXPECT_EQ(*e.get<std::int64_t>("small"), 42);
  EXPECT_EQ(*e.get<std::int64_t>("count"), -5);
  EXPECT_EQ(*e.get<double>("ratio"), 1.5);
  EXPECT_EQ(*e.get<TableDateTime>("stored_at"), utc(2025, 6, 11, 17, 3, 7, 123456));
  EXPECT_EQ(*e.get<std::string>("id"), "c9da6455-213d-42c9-9a79-3e9149a57833");
  EXPECT_EQ(e.get<std::string>("result"), nullptr);  // wrong type
  EXPECT_EQ(e.get<bool>("missing"), nullptr);
}

TEST(TableEntityJson, RoundTrip) {
  TableEntity e{"p",
                "r",
                {{"s", std::string("x'y\"z\u00e9")},
                 {"b", true},
                 {"i", std::int64_t{-1}},
                 {"d", 2.0},
                 {"t", utc(1999, 12, 31, 23, 59, 59, 999999)}},
                ""};
  EXPECT_EQ(decode_table_entity(encode_table_entity(e)).properties, e.properties);
}

TEST(TableEntityJson, RefusesWhatTheServiceWouldRefuse) {
  auto encode = [](std::string pk, std::string rk, std::string name) {
    TableEntity e{pk, rk, {{name, std::string("v")}}, ""};
    return encode_table_entity(e);
  };
  EXPECT_THROW(encode("a/b", "r", "v"), std::invalid_argument);
  EXPECT_THROW(encode("p", "r#1", "v"), std::invalid_argument);
  EXPECT_THROW(encode("p", "r?", "v"), std::invalid_argument);
  EXPECT_THROW(encode("p", std::string("r\n"), "v"), std::invalid_argument);
  EXPECT_THROW(encode(std::string(1025, 'k'), "r", "v"), std::invalid_argument);
  EXPECT_THROW(encode("p", "r", "Timestamp"), std::invalid_argument);
  EXPECT_THROW(encode("p", "r", "1abc"), std::invalid_argument);
  EXPECT_THROW(encode("p", "r", "a-b"), std::invalid_argument);
  EXPECT_NO_THROW(encode("p q 'x' \u00e9", "r", "_ok1"));
  TableEntity nan{"p", "r", {{"d", std::nan("")}}, ""};
  EXPECT_THROW(encode_table_entity(nan), std::invalid_argument);
  EXPECT_THROW(decode_table_entity("[1]"), std::invalid_argument);
  EXPECT_THROW(decode_table_entity(R"({"PartitionKey":"p"})"), std::invalid_argument);
  EXPECT_THROW(decode_table_entity(R"({"PartitionKey":"p","RowKey":"r","n@odata.type":"Edm.Int64","n":"x"})"),
               std::invalid_argument);
}

TEST(TableEntityJson, DateTimes) {
  TableDateTime t;
  ASSERT_TRUE(parse_table_datetime("2025-06-11T17:03:07Z", t));
  EXPECT_EQ(t, utc(2025, 6, 11, 17, 3, 7, 0));
  ASSERT_TRUE(parse_table_datetime("2025-06-11T17:03:07.5+00:00", t));
  EXPECT_EQ(t, utc(2025, 6, 11, 17, 3, 7, 500000));
  ASSERT_TRUE(parse_table_datetime("2025-06-11T17:03:07.123456789Z", t));  // Go's nanoseconds
  EXPECT_EQ(t, utc(2025, 6, 11, 17, 3, 7, 123456));
  EXPECT_FALSE(parse_table_datetime("2025-06-11 17:03:07Z", t));
  EXPECT_FALSE(parse_table_datetime("2025-06-11T17:03:07", t));        // no zone
  EXPECT_FALSE(parse_table_datetime("2025-06-11T17:03:07+02:00", t));  // not UTC
  EXPECT_FALSE(parse_table_datetime("2025-02-30T00:00:00Z", t));
  EXPECT_EQ(format_table_datetime(utc(2025, 1, 2, 3, 4, 5, 6)), "2025-01-02T03:04:05.0000060Z");
}

TEST(TableUrls, KeysAndFilters) {
  EXPECT_EQ(table_detail::entity_key_segment("flag a", "it's"), "(PartitionKey='flag%20a',RowKey='it''s')");
  EXPECT_EQ(table_detail::entity_key_segment("\u00e9", "r"), "(PartitionKey='%C3%A9',RowKey='r')");
  EXPECT_THROW(table_detail::entity_key_segment("a/b", "r"), std::invalid_argument);
  EXPECT_EQ(odata_string("it's"), "'it''s'");
  EXPECT_NO_THROW(table_detail::check_table_name("EvaluationEvents"));
  EXPECT_THROW(table_detail::check_table_name("ab"), std::invalid_argument);
  EXPECT_THROW(table_detail::check_table_name("1abc"), std::invalid_argument);
  EXPECT_THROW(table_detail::check_table_name("evaluation-events"), std::invalid_argument);
}

TEST(TableBatch, BodyIsOneChangesetOfFullRequests) {
  std::vector<TableOperation> ops;
  ops.push_back({TableOperation::Kind::insert, {"p", "r1", {{"n", std::int64_t{1}}}, ""}});
  ops.push_back({TableOperation::Kind::merge, {"p", "r2", {{"s", std::string("x")}}, "W/\"1\""}});
  ops.push_back({TableOperation::Kind::remove, {"p", "r3", {}, ""}});
  std::string body =
      table_detail::build_batch_body("batch_B", "changeset_C", "https://a.table.cosmos.azure.com:443/T", ops);
  EXPECT_EQ(body,
            "--batch_B\r\n"
            "Content-Type: multipart/mixed; boundary=changeset_C\r\n\r\n"
            "--changeset_C\r\n"
            "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            "POST https://a.table.cosmos.azure.com:443/T HTTP/1.1\r\n"
            "Accept: application/json;odata=minimalmetadata\r\nDataServiceVersion: 3.0;\r\n"
            "Prefer: return-no-content\r\nContent-Type: application/json\r\n\r\n"
            R"({"PartitionKey":"p","RowKey":"r1","n":"1","n@odata.type":"Edm.Int64"})"
            "\r\n"
            "--changeset_C\r\n"
            "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            "MERGE https://a.table.cosmos.azure.com:443/T(PartitionKey='p',RowKey='r2') HTTP/1.1\r\n"
            "Accept: application/json;odata=minimalmetadata\r\nDataServiceVersion: 3.0;\r\n"
            "If-Match: W/\"1\"\r\nContent-Type: application/json\r\n\r\n"
            R"({"PartitionKey":"p","RowKey":"r2","s":"x"})"
            "\r\n"
            "--changeset_C\r\n"
            "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            "DELETE https://a.table.cosmos.azure.com:443/T(PartitionKey='p',RowKey='r3') HTTP/1.1\r\n"
            "Accept: application/json;odata=minimalmetadata\r\nDataServiceVersion: 3.0;\r\n"
            "If-Match: *\r\n\r\n"
            "--changeset_C--\r\n"
            "--batch_B--\r\n");
}

// The shape of the documented error response of an entity group transaction.
TEST(TableBatch, ResponseNamesTheFailedOperation) {
  std::string failed =
      "--batchresponse_e69b\r\nContent-Type: multipart/mixed; boundary=changesetresponse_fe6a\r\n\r\n"
      "--changesetresponse_fe6a\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
      "HTTP/1.1 409 Conflict\r\nContent-ID: 3\r\nX-Content-Type-Options: nosniff\r\nDataServiceVersion: 3.0;\r\n"
      "Content-Type: application/json;odata=minimalmetadata;streaming=true;charset=utf-8\r\n\r\n"
      R"({"odata.error":{"code":"EntityAlreadyExists","message":{"lang":"en-US","value":"2:The specified entity already exists.\nRequestId:0c2a\nTime:2025-06-11T17:03:07.1234567Z"}}})"
      "\r\n--changesetresponse_fe6a--\r\n--batchresponse_e69b--\r\n";
  auto r = table_detail::parse_batch_response(failed, 5);
  EXPECT_FALSE(r.committed);
  EXPECT_EQ(r.failed_index, 2);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.code, "EntityAlreadyExists");
  EXPECT_EQ(r.message, "The specified entity already exists.");

  std::string ok =
      "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n"
      "--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
      "HTTP/1.1 204 No Content\r\nContent-ID: 1\r\nETag: W/\"a\"\r\n\r\n\r\n"
      "--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
      "HTTP/1.1 204 No Content\r\nContent-ID: 2\r\netag: W/\"b\"\r\n\r\n\r\n"
      "--changesetresponse_2--\r\n--batchresponse_1--\r\n";
  auto c = table_detail::parse_batch_response(ok, 2);
  EXPECT_TRUE(c.committed);
  EXPECT_EQ(c.etags, (std::vector<std::string>{"W/\"a\"", "W/\"b\""}));
  EXPECT_FALSE(table_detail::parse_batch_response(ok, 3).committed);  // a response missing

  // Every operation answered, the ones not applied because of another as 424 Failed Dependency:
  // the cause is the one that is not a 424.
  auto part = [](const char* status, const char* body) {
    return std::string(
               "--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: "
               "binary\r\n\r\nHTTP/1.1 ") +
           status + "\r\nContent-Type: application/json\r\n\r\n" + body + "\r\n";
  };
  std::string dependent =
      "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n" +
      part("424 Failed Dependency", "") + part("424 Failed Dependency", "") +
      part("409 Conflict", R"({"odata.error":{"code":"EntityAlreadyExists","message":{"value":"exists"}}})") +
      "--changesetresponse_2--\r\n--batchresponse_1--\r\n";
  auto d = table_detail::parse_batch_response(dependent, 3);
  EXPECT_FALSE(d.committed);
  EXPECT_EQ(d.failed_index, 2);
  EXPECT_EQ(d.status, 409);
  EXPECT_EQ(d.code, "EntityAlreadyExists");
}
