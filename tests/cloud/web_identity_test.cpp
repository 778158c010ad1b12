// Web-identity credentials (EKS IRSA) against a fake STS of the test's own (fake_aws.hpp): the
// token file's content goes to AssumeRoleWithWebIdentity unsigned; the credentials returned are
// the ones requests are then signed with; they are cached, renewed before they expire (with the
// token file read again), kept through a failed renewal while still valid, and renewed when AWS
// says they have expired.
//
// Not tested here (no network to AWS): the real STS's answers. The fake answers in STS's documented
// XML form (AssumeRoleWithWebIdentityResponse / ErrorResponse).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fake_aws.hpp"
#include "toggle/cloud/aws_json.hpp"

namespace {

using namespace std::chrono_literals;
using toggle::cloud::AwsError;
using toggle::cloud::deadline_after;

std::string iso8601_in(std::chrono::seconds from_now) {
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// STS's reply for the n-th credentials (1-based), expiring `valid_for` from now.
fakeaws::Answer sts_credentials(int n, std::chrono::seconds valid_for) {
  std::string body =
      "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
      "<AssumeRoleWithWebIdentityResult>"
      "<SubjectFromWebIdentityToken>system:serviceaccount:togglemaster:analytics</SubjectFromWebIdentityToken>"
      "<Audience>sts.amazonaws.com</Audience>"
      "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/analytics/s</Arn>"
      "<AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>"
      "<Credentials>"
      "<SessionToken>token-" +
      std::to_string(n) +
      "/with&amp;escapes+=</SessionToken>"
      "<SecretAccessKey>secret-" +
      std::to_string(n) +
      "</SecretAccessKey>"
      "<Expiration>" +
      iso8601_in(valid_for) +
      "</Expiration>"
      "<AccessKeyId>ASIAFAKE" +
      std::to_string(n) +
      "</AccessKeyId>"
      "</Credentials>"
      "<Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/X</Provider>"
      "</AssumeRoleWithWebIdentityResult>"
      "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
      "</AssumeRoleWithWebIdentityResponse>";
  return {200, body, "text/xml"};
}

fakeaws::Answer sts_error(int status, const std::string& code, const std::string& message) {
  return {status,
          "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>" + code +
              "</Code><Message>" + message + "</Message></Error><RequestId>r</RequestId></ErrorResponse>",
          "text/xml"};
}

class WebIdentityTest : public testing::Test {
 protected:
  void SetUp() override {
    token_file_ =
        (std::filesystem::temp_directory_path() / ("web-identity-test-" + std::to_string(::getpid()) + "-" +
                                                   testing::UnitTest::GetInstance()->current_test_info()->name()))
            .string();
    write_token("eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.first-token.sig\n");
  }
  void TearDown() override { std::remove(token_file_.c_str()); }

  void write_token(const std::string& token) { std::ofstream(token_file_, std::ios::trunc) << token; }

  std::shared_ptr<toggle::cloud::CredentialsProvider> provider(toggle::cloud::WebIdentityOptions options = {}) {
    options.retry_after = 60s;
    return toggle::cloud::web_identity_credentials(
        {token_file_, "arn:aws:iam::123456789012:role/analytics", "analytics-pod-1"}, aws_.url(), options);
  }

  fakeaws::FakeAws aws_;
  std::string token_file_;
};

TEST_F(WebIdentityTest, TheTokenFileGoesToStsAndItsCredentialsSignTheRequests) {
  aws_.sts = [](const fakeaws::Seen&, int i) { return sts_credentials(i + 1, 1h); };
  toggle::cloud::AwsJsonClient client({"dynamodb", "DynamoDB_20120810", aws_.url(), "eu-west-1"}, provider());
  client.call("ListTables", "{}", deadline_after(5s));

  auto sts = aws_.sts_requests();
  ASSERT_EQ(sts.size(), 1u);
  EXPECT_EQ(sts[0].form["Action"], "AssumeRoleWithWebIdentity");
  EXPECT_EQ(sts[0].form["Version"], "2011-06-15");
  EXPECT_EQ(sts[0].form["RoleArn"], "arn:aws:iam::123456789012:role/analytics");
  EXPECT_EQ(sts[0].form["RoleSessionName"], "analytics-pod-1");
  EXPECT_EQ(sts[0].form["WebIdentityToken"], "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.first-token.sig");  // no newline
  EXPECT_EQ(sts[0].form["DurationSeconds"], "3600");
  EXPECT_TRUE(sts[0].authorization.empty());  // the token is the proof: the request is not signed
  EXPECT_EQ(sts[0].content_type.rfind("application/x-www-form-urlencoded", 0), 0u);

  auto calls = aws_.service_requests();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].authorization.rfind("AWS4-HMAC-SHA256 Credential=ASIAFAKE1/", 0), 0u) << calls[0].authorization;
  EXPECT_EQ(calls[0].security_token, "token-1/with&escapes+=");
}

TEST_F(WebIdentityTest, CredentialsAreCachedWhileFarFromExpiry) {
  aws_.sts = [](const fakeaws::Seen&, int i) { return sts_credentials(i + 1, 1h); };
  auto p = provider();
  auto first = p->get(deadline_after(5s));
  auto second = p->get(deadline_after(5s));
  EXPECT_EQ(first.access_key_id, "ASIAFAKE1");
  EXPECT_EQ(second.access_key_id, "ASIAFAKE1");
  EXPECT_EQ(second.secret_access_key, "secret-1");
  ASSERT_TRUE(second.expiration);
  EXPECT_EQ(aws_.sts_requests().size(), 1u);
}

TEST_F(WebIdentityTest, CredentialsCloseToExpiryAreRenewedWithTheTokenReadAgain) {
  // 4 minutes left is inside the default 5-minute renewal window: every get() renews.
  aws_.sts = [](const fakeaws::Seen&, int i) { return sts_credentials(i + 1, 4min); };
  auto p = provider();
  EXPECT_EQ(p->get(deadline_after(5s)).access_key_id, "ASIAFAKE1");
  write_token("rotated-token");  // the kubelet rotates the projected token
  EXPECT_EQ(p->get(deadline_after(5s)).access_key_id, "ASIAFAKE2");
  auto sts = aws_.sts_requests();
  ASSERT_EQ(sts.size(), 2u);
  EXPECT_EQ(sts[1].form["WebIdentityToken"], "rotated-token");
}

TEST_F(WebIdentityTest, AFailedRenewalKeepsCredentialsThatAreStillValid) {
  aws_.sts = [](const fakeaws::Seen&, int i) {
    if (i == 0) return sts_credentials(1, 4min);
    return sts_error(503, "ServiceUnavailable", "try later");
  };
  auto p = provider();
  EXPECT_EQ(p->get(deadline_after(5s)).access_key_id, "ASIAFAKE1");
  EXPECT_EQ(p->get(deadline_after(5s)).access_key_id, "ASIAFAKE1");  // renewal failed: the old ones do
  EXPECT_EQ(aws_.sts_requests().size(), 2u);
  EXPECT_EQ(p->get(deadline_after(5s)).access_key_id, "ASIAFAKE1");  // no new attempt before retry_after
  EXPECT_EQ(aws_.sts_requests().size(), 2u);
}

TEST_F(WebIdentityTest, StsRefusalIsAClearNonRetryableError) {
  aws_.sts = [](const fakeaws::Seen&, int) {
    return sts_error(400, "InvalidIdentityToken", "Incorrect token audience");
  };
  try {
    provider()->get(deadline_after(5s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "InvalidIdentityToken");
    EXPECT_FALSE(e.retryable());
    EXPECT_NE(e.message().find("Incorrect token audience"), std::string::npos);
    EXPECT_NE(e.message().find("arn:aws:iam::123456789012:role/analytics"), std::string::npos);
  }
  // A service call with these credentials fails with the same error, without reaching the service.
  toggle::cloud::AwsJsonClient client({"sqs", "AmazonSQS", aws_.url(), "eu-west-1"}, provider());
  auto outcomes = client.call_all("ListQueues", {"{}"}, deadline_after(5s));
  ASSERT_FALSE(outcomes[0].ok());
  EXPECT_EQ(outcomes[0].error->code(), "InvalidIdentityToken");
  EXPECT_TRUE(aws_.service_requests().empty());
}

TEST_F(WebIdentityTest, AnUnreadableTokenFileIsNamed) {
  std::remove(token_file_.c_str());
  try {
    provider()->get(deadline_after(5s));
    FAIL() << "no error";
  } catch (const AwsError& e) {
    EXPECT_EQ(e.code(), "InvalidWebIdentityToken");
    EXPECT_NE(e.message().find("AWS_WEB_IDENTITY_TOKEN_FILE=" + token_file_), std::string::npos);
  }
  EXPECT_TRUE(aws_.sts_requests().empty());
}

TEST_F(WebIdentityTest, ExpiredTokenFromTheServiceRenewsAndRetries) {
  aws_.sts = [](const fakeaws::Seen&, int i) { return sts_credentials(i + 1, 1h); };
  aws_.service = [](const fakeaws::Seen&, int i) {
    if (i == 0)
      return fakeaws::Answer{
          400,
          R"({"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"})"};
    return fakeaws::Answer{200, "{}"};
  };
  toggle::cloud::AwsJsonClient client({"dynamodb", "DynamoDB_20120810", aws_.url(), "eu-west-1"}, provider());
  client.call("ListTables", "{}", deadline_after(5s));
  auto calls = aws_.service_requests();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_NE(calls[0].authorization.find("Credential=ASIAFAKE1/"), std::string::npos);
  EXPECT_NE(calls[1].authorization.find("Credential=ASIAFAKE2/"), std::string::npos);
  EXPECT_EQ(aws_.sts_requests().size(), 2u);
}

TEST_F(WebIdentityTest, ConcurrentCallersShareOneStsCall) {
  aws_.sts = [](const fakeaws::Seen&, int i) {
    std::this_thread::sleep_for(200ms);  // callers arrive while STS is answering
    return sts_credentials(i + 1, 1h);
  };
  auto p = provider();
  std::vector<std::thread> threads;
  std::vector<std::string> keys(8);
  for (int t = 0; t < 8; ++t) threads.emplace_back([&, t] { keys[t] = p->get(deadline_after(10s)).access_key_id; });
  for (auto& t : threads) t.join();
  for (const auto& k : keys) EXPECT_EQ(k, "ASIAFAKE1");
  EXPECT_EQ(aws_.sts_requests().size(), 1u);
}

}  // namespace
