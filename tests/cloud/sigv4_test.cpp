// The signatures libcurl computes for our requests, checked by the AWS SDK for JavaScript's own
// signer (tests/support/sigv4-checker.mjs, between the clients and the emulators): real SQS and
// DynamoDB requests, with long-term keys and with temporary ones (a session token), go through it
// and reach the emulators only when their signature is exactly what AWS computes.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include "aws_emulators.hpp"
#include "toggle/cloud/aws_config.hpp"
#include "toggle/cloud/dynamodb.hpp"
#include "toggle/cloud/sqs.hpp"
#include "toggle/core/client.hpp"
#include "toggle/core/config.hpp"

namespace {

using namespace std::chrono_literals;
using toggle::cloud::AttributeValue;
using toggle::cloud::AwsError;
using toggle::cloud::deadline_after;

// The checker's counts. Tests run in parallel share the checker: a test counts its own requests
// by a session token of its own (`with_token`), or only asserts a lower bound.
struct CheckerStats {
  int verified = 0, rejected = 0, with_token = 0;
};

CheckerStats checker_stats(const std::string& token = "") {
  toggle::ClientRequest request;
  request.url = testsupport::aws_emulators().sigv4 + "/sigv4-checker/stats";
  auto reply = toggle::HttpClient().send(request);
  auto j = nlohmann::json::parse(reply.body);
  return {j["verified"].get<int>(), j["rejected"].get<int>(), j["tokens"].value(token, 0)};
}

std::string unique_token() {
  return "IQoJb3JpZ2luX2VjEJr//////////wEaCXVz+" + testsupport::unique_name("token") + "==";
}

std::shared_ptr<toggle::cloud::CredentialsProvider> credentials(
    const std::string& session_token, const std::string& secret = testsupport::kTestSecretKey) {
  return toggle::cloud::static_credentials({testsupport::kTestAccessKeyId, secret, session_token, {}});
}

// The SQS calls the pipeline makes, all through the checker.
void sqs_round_trip(const std::shared_ptr<toggle::cloud::CredentialsProvider>& creds) {
  toggle::cloud::SqsClient sqs({"sqs", "AmazonSQS", testsupport::aws_emulators().sigv4, "eu-west-1"}, creds);
  std::string url =
      sqs.create_queue(testsupport::unique_name("signed"), {{"VisibilityTimeout", "30"}}, deadline_after(10s));
  auto sent = sqs.send_message_batch(url, {{"a", R"({"event_id":"1","flag_name":"f/ü"})", {}}, {"b", "x y+z", {}}},
                                     deadline_after(10s));
  EXPECT_EQ(sent.sent.size(), 2u);
  EXPECT_TRUE(sent.failed.empty()) << sent.failed.front().code << ": " << sent.failed.front().message;
  std::vector<toggle::cloud::SqsMessage> got;
  for (int i = 0; i < 5 && got.size() < 2; ++i)
    for (auto& m : sqs.receive_messages(url, {.max_messages = 10, .wait_seconds = 1}, deadline_after(10s)))
      got.push_back(std::move(m));
  ASSERT_EQ(got.size(), 2u);
  sqs.change_message_visibility(url, got[0].receipt_handle, 60, deadline_after(10s));
  auto deleted =
      sqs.delete_message_batch(url, {{"0", got[0].receipt_handle}, {"1", got[1].receipt_handle}}, deadline_after(10s));
  EXPECT_EQ(deleted.succeeded.size(), 2u);
  EXPECT_EQ(sqs.get_queue_attributes(url, {"ApproximateNumberOfMessages"}, deadline_after(10s))
                .at("ApproximateNumberOfMessages"),
            "0");
}

// The DynamoDB calls the pipeline makes, all through the checker.
void dynamodb_round_trip(const std::shared_ptr<toggle::cloud::CredentialsProvider>& creds) {
  toggle::cloud::DynamoDbClient db({"dynamodb", "DynamoDB_20120810", testsupport::aws_emulators().sigv4, "eu-west-1"},
                                   creds);
  std::string table = testsupport::unique_name("signed");
  ASSERT_TRUE(db.create_table({table, {{"pk", "S"}, {"sk", "S"}}, "pk", "sk", {}}, deadline_after(10s)));
  db.wait_until_active(table, deadline_after(30s));
  auto item = [](const std::string& sk) {
    return toggle::cloud::Item{{"pk", AttributeValue::string("flag#ü")}, {"sk", AttributeValue::string(sk)}};
  };
  EXPECT_TRUE(db.put_item({table, item("1"), "attribute_not_exists(pk)", {}, {}}, deadline_after(10s)));
  EXPECT_FALSE(db.put_item({table, item("1"), "attribute_not_exists(pk)", {}, {}}, deadline_after(10s)));
  std::vector<toggle::cloud::WriteRequest> writes;
  for (int i = 2; i < 30; ++i) writes.push_back(toggle::cloud::WriteRequest::put(item(std::to_string(i))));
  db.batch_write_item(table, writes, deadline_after(20s));
  toggle::cloud::QueryRequest query;
  query.table = table;
  query.key_condition_expression = "pk = :p";
  query.values = {{":p", AttributeValue::string("flag#ü")}};
  EXPECT_EQ(db.query_count(query, deadline_after(10s)), 29);
  // A request over 1 MiB (25 items of 50 KB): libcurl adds an (unsigned) Expect: 100-continue.
  std::vector<toggle::cloud::WriteRequest> large;
  for (int i = 0; i < 25; ++i) {
    auto big = item("big" + std::to_string(i));
    big["payload"] = AttributeValue::string(std::string(50 * 1000, 'p'));
    large.push_back(toggle::cloud::WriteRequest::put(std::move(big)));
  }
  db.batch_write_item(table, large, deadline_after(30s));
  EXPECT_EQ(db.query_count(query, deadline_after(10s)), 54);
  auto updated = db.update_item(
      {table, item("1"), "ADD n :one", "", {}, {{":one", AttributeValue::number(std::int64_t{1})}}, "ALL_NEW"},
      deadline_after(10s));
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->at("n").as_int64(), 1);
}

TEST(SigV4, SqsRequestsAreSignedAsAwsSignsThem) {
  auto before = checker_stats();
  sqs_round_trip(credentials(""));
  auto after = checker_stats();
  EXPECT_GE(after.verified - before.verified, 6);
}

TEST(SigV4, SqsRequestsWithASessionTokenAreSignedAsAwsSignsThem) {
  std::string token = unique_token();
  sqs_round_trip(credentials(token));
  EXPECT_GE(checker_stats(token).with_token, 6);  // every call, signed with its token
}

TEST(SigV4, DynamoDbRequestsAreSignedAsAwsSignsThem) {
  auto before = checker_stats();
  dynamodb_round_trip(credentials(""));
  auto after = checker_stats();
  EXPECT_GE(after.verified - before.verified, 7);
}

TEST(SigV4, DynamoDbRequestsWithASessionTokenAreSignedAsAwsSignsThem) {
  std::string token = unique_token();
  dynamodb_round_trip(credentials(token));
  EXPECT_GE(checker_stats(token).with_token, 10);
}

// The way a service builds its clients: from the AWS_* variables, one endpoint for both services
// (as with LocalStack), one credentials provider shared by both clients.
TEST(SigV4, ClientsConfiguredFromTheEnvironment) {
  ::setenv("AWS_REGION", "ap-southeast-2", 1);
  ::setenv("AWS_ENDPOINT_URL", testsupport::aws_emulators().sigv4.c_str(), 1);
  ::setenv("AWS_ACCESS_KEY_ID", testsupport::kTestAccessKeyId, 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", testsupport::kTestSecretKey, 1);
  std::string token = unique_token();
  ::setenv("AWS_SESSION_TOKEN", token.c_str(), 1);
  toggle::Env env;
  auto config = toggle::cloud::aws_config_from_env(env);
  for (const char* name :
       {"AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"})
    ::unsetenv(name);
  ASSERT_TRUE(env.problems().empty()) << env.problems().front();

  auto credentials = toggle::cloud::make_credentials_provider(config);
  toggle::cloud::SqsClient sqs(toggle::cloud::sqs_service(config), credentials);
  toggle::cloud::DynamoDbClient db(toggle::cloud::dynamodb_service(config), credentials);
  std::string name = testsupport::unique_name("env");
  EXPECT_FALSE(sqs.create_queue(name, {}, deadline_after(10s)).empty());
  EXPECT_TRUE(db.create_table({name, {{"id", "S"}}, "id", "", {}}, deadline_after(10s)));
  EXPECT_EQ(checker_stats(token).with_token, 2);
}

// The checker does check: a request signed with another secret is refused as AWS refuses it.
TEST(SigV4, AWrongSecretIsRefusedAndNotRetried) {
  auto before = checker_stats();
  toggle::cloud::DynamoDbClient db({"dynamodb", "DynamoDB_20120810", testsupport::aws_emulators().sigv4, "eu-west-1"},
                                   credentials("", "not-the-secret"));
  try {
    db.describe_table("anything", deadline_after(10s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "InvalidSignatureException");
    EXPECT_EQ(e.http_status(), 403);
    EXPECT_FALSE(e.retryable());
  }
  EXPECT_EQ(checker_stats().rejected - before.rejected, 1);  // refused once: not retried
}

}  // namespace
