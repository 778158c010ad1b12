// The generic signed AWS JSON call (AwsJsonClient) against a fake endpoint in-process: what every
// request carries, which failures are retried and how often, deadlines, cancellation, parallel calls.
// (Whether the signature itself is right is checked with AWS's own signer in sigv4_test.cpp.)
#include "toggle/cloud/aws_json.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fake_aws.hpp"

namespace {

using namespace std::chrono_literals;
using toggle::cloud::AwsError;
using toggle::cloud::AwsJsonClient;
using toggle::cloud::deadline_after;

AwsJsonClient client_for(const std::string& endpoint, toggle::cloud::AwsCallOptions options = {}) {
  options.base_backoff = 1ms;  // keep the tests quick; the backoff itself is not under test
  return AwsJsonClient({"dynamodb", "DynamoDB_20120810", endpoint, "eu-west-1"},
                       toggle::cloud::static_credentials({"AKIDEXAMPLE", "secret", "", std::nullopt}), options);
}

TEST(AwsJsonCall, RequestsCarryTheTargetTheJsonTypeAndASignature) {
  fakeaws::FakeAws aws;
  aws.service = [](const fakeaws::Seen&, int) { return fakeaws::Answer{200, R"({"TableNames":[]})"}; };
  auto reply = client_for(aws.url()).call("ListTables", R"({"Limit":5})", deadline_after(5s));
  EXPECT_EQ(reply, R"({"TableNames":[]})");
  auto seen = aws.service_requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "DynamoDB_20120810.ListTables");
  EXPECT_EQ(seen[0].content_type, "application/x-amz-json-1.0");
  EXPECT_EQ(seen[0].body, R"({"Limit":5})");
  EXPECT_EQ(seen[0].authorization.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0u) << seen[0].authorization;
  EXPECT_NE(seen[0].authorization.find("/eu-west-1/dynamodb/aws4_request"), std::string::npos);
  EXPECT_NE(seen[0].authorization.find("x-amz-target"), std::string::npos);  // signed
  EXPECT_EQ(seen[0].amz_date.size(), 16u);                                   // 20260101T000000Z
  EXPECT_TRUE(seen[0].security_token.empty());
  EXPECT_EQ(seen[0].authorization.find("secret"), std::string::npos);
}

TEST(AwsJsonCall, TemporaryCredentialsSendTheirToken) {
  fakeaws::FakeAws aws;
  AwsJsonClient client({"sqs", "AmazonSQS", aws.url(), "us-east-1"},
                       toggle::cloud::static_credentials({"ASIAEXAMPLE", "secret", "the/token+=", std::nullopt}));
  client.call("ListQueues", "{}", deadline_after(5s));
  auto seen = aws.service_requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "AmazonSQS.ListQueues");
  EXPECT_EQ(seen[0].security_token, "the/token+=");
  EXPECT_NE(seen[0].authorization.find("x-amz-security-token"), std::string::npos);  // signed too
}

TEST(AwsJsonCall, RetryableFailuresAreRetried) {
  fakeaws::FakeAws aws;
  aws.service = [](const fakeaws::Seen&, int i) {
    if (i == 0) return fakeaws::Answer{503, R"({"__type":"ServiceUnavailable","message":"busy"})"};
    if (i == 1)
      return fakeaws::Answer{
          400,
          R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow"})"};
    return fakeaws::Answer{200, R"({"ok":true})"};
  };
  EXPECT_EQ(client_for(aws.url()).call("PutItem", "{}", deadline_after(10s)), R"({"ok":true})");
  EXPECT_EQ(aws.service_requests().size(), 3u);
}

TEST(AwsJsonCall, NonRetryableFailuresAreNotAndSayWhy) {
  fakeaws::FakeAws aws;
  aws.service = [](const fakeaws::Seen&, int) {
    return fakeaws::Answer{400, R"({"__type":"com.amazon.coral.validate#ValidationException","message":"bad key"})"};
  };
  try {
    client_for(aws.url()).call("PutItem", "{}", deadline_after(10s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "ValidationException");
    EXPECT_EQ(e.message(), "bad key");
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_FALSE(e.retryable());
  }
  EXPECT_EQ(aws.service_requests().size(), 1u);
}

TEST(AwsJsonCall, RetriesStopAfterMaxAttempts) {
  fakeaws::FakeAws aws;
  aws.service = [](const fakeaws::Seen&, int) { return fakeaws::Answer{500, R"({"__type":"InternalServerError"})"}; };
  toggle::cloud::AwsCallOptions options;
  options.max_attempts = 4;
  try {
    client_for(aws.url(), options).call("PutItem", "{}", deadline_after(10s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "InternalServerError");
    EXPECT_TRUE(e.retryable());
  }
  EXPECT_EQ(aws.service_requests().size(), 4u);
}

TEST(AwsJsonCall, NobodyListeningIsARetryableTransportError) {
  try {
    client_for(fakeaws::closed_port_url()).call("ListTables", "{}", deadline_after(5s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "TransportError");
    EXPECT_EQ(e.http_status(), 0);
    EXPECT_TRUE(e.retryable());
  }
}

TEST(AwsJsonCall, TheDeadlineEndsACallThatGetsNoAnswer) {
  fakeaws::SilentPort silent;
  try {
    client_for(silent.url()).call("ListTables", "{}", deadline_after(300ms));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "Timeout");
    EXPECT_TRUE(e.retryable());
  }
}

TEST(AwsJsonCall, APassedDeadlineSendsNothing) {
  fakeaws::FakeAws aws;
  EXPECT_THROW(client_for(aws.url()).call("ListTables", "{}", std::chrono::steady_clock::now() - 1ms), AwsError);
  EXPECT_TRUE(aws.service_requests().empty());
}

TEST(AwsJsonCall, CancelAbandonsACall) {
  fakeaws::SilentPort silent;
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(200ms);
    cancel = true;
  });
  try {
    client_for(silent.url()).call("ReceiveMessage", "{}", deadline_after(60s), &cancel);
    ADD_FAILURE() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "Cancelled");
    EXPECT_FALSE(e.retryable());
  }
  canceller.join();
}

TEST(AwsJsonCall, CallAllRunsIndependentCallsAndKeepsTheirOrder) {
  fakeaws::FakeAws aws;
  aws.service = [](const fakeaws::Seen& seen, int) {
    if (seen.body == R"({"n":7})") return fakeaws::Answer{400, R"({"__type":"ValidationException","message":"seven"})"};
    return fakeaws::Answer{200, seen.body};  // echo
  };
  std::vector<std::string> bodies;
  for (int i = 0; i < 50; ++i) bodies.push_back(R"({"n":)" + std::to_string(i) + "}");
  toggle::cloud::AwsCallOptions options;
  options.max_parallel = 8;
  auto outcomes = client_for(aws.url(), options).call_all("PutItem", bodies, deadline_after(20s));
  ASSERT_EQ(outcomes.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    if (i == 7) {
      ASSERT_FALSE(outcomes[i].ok());
      EXPECT_EQ(outcomes[i].error->message(), "seven");
    } else {
      ASSERT_TRUE(outcomes[i].ok()) << i << ": " << outcomes[i].error->what();
      EXPECT_EQ(outcomes[i].body, bodies[i]);
    }
  }
  EXPECT_EQ(aws.service_requests().size(), 50u);
}

}  // namespace
