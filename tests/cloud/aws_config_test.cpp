// AWS configuration from the environment: every variable, the SDKs' precedence, and a problem
// naming the variable for each bad or missing value (never quoting a secret).
#include "toggle/cloud/aws_config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "toggle/cloud/dynamodb.hpp"
#include "toggle/cloud/sqs.hpp"
#include "toggle/core/config.hpp"

namespace {

const char* const kVariables[] = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_SESSION_NAME",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
};

// Each test starts with none of the AWS variables set, and leaves them as they were.
class AwsConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      if (const char* v = std::getenv(name)) saved_[name] = v;
      ::unsetenv(name);
    }
    token_file_ = (std::filesystem::temp_directory_path() / ("aws-config-test-" + std::to_string(::getpid()))).string();
  }
  void TearDown() override {
    for (const char* name : kVariables) {
      auto it = saved_.find(name);
      if (it == saved_.end())
        ::unsetenv(name);
      else
        ::setenv(name, it->second.c_str(), 1);
    }
    std::remove(token_file_.c_str());
  }

  static void set(const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); }

  toggle::cloud::AwsConfig load() {
    env_ = toggle::Env();
    return toggle::cloud::aws_config_from_env(env_);
  }
  const std::vector<std::string>& problems() const { return env_.problems(); }
  bool problem_mentions(const std::string& text) const {
    for (const auto& p : problems())
      if (p.find(text) != std::string::npos) return true;
    return false;
  }
  std::string all_problems() const {
    std::string out;
    for (const auto& p : problems()) out += p + "\n";
    return out;
  }
  void write_token_file(const std::string& content) { std::ofstream(token_file_) << content; }
  void static_keys() {
    set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    set("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  }

  toggle::Env env_;
  std::map<std::string, std::string> saved_;
  std::string token_file_;
};

TEST_F(AwsConfigTest, StaticKeysAndRegionGiveAwsRegionalEndpoints) {
  set("AWS_REGION", "eu-west-1");
  static_keys();
  auto c = load();
  EXPECT_TRUE(problems().empty()) << all_problems();
  EXPECT_EQ(c.region, "eu-west-1");
  EXPECT_EQ(c.sqs_endpoint, "https://sqs.eu-west-1.amazonaws.com");
  EXPECT_EQ(c.dynamodb_endpoint, "https://dynamodb.eu-west-1.amazonaws.com");
  EXPECT_EQ(c.sts_endpoint, "https://sts.eu-west-1.amazonaws.com");
  ASSERT_TRUE(c.static_credentials);
  EXPECT_EQ(c.static_credentials->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(c.static_credentials->secret_access_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  EXPECT_EQ(c.static_credentials->session_token, "");
  EXPECT_FALSE(c.web_identity);
  EXPECT_EQ(toggle::cloud::default_endpoint("sqs", "cn-north-1"), "https://sqs.cn-north-1.amazonaws.com.cn");
}

TEST_F(AwsConfigTest, DefaultRegionIsTheFallback) {
  set("AWS_DEFAULT_REGION", "us-west-2");
  static_keys();
  EXPECT_EQ(load().region, "us-west-2");
  set("AWS_REGION", "ap-south-1");
  EXPECT_EQ(load().region, "ap-south-1");  // AWS_REGION wins
  EXPECT_TRUE(problems().empty()) << all_problems();
}

TEST_F(AwsConfigTest, MissingOrMalformedRegionIsNamed) {
  static_keys();
  load();
  EXPECT_TRUE(problem_mentions("AWS_REGION must be set")) << all_problems();
  set("AWS_REGION", "US East 1");
  load();
  EXPECT_TRUE(problem_mentions("AWS_REGION=US East 1 is not an AWS region name")) << all_problems();
  ::unsetenv("AWS_REGION");
  set("AWS_DEFAULT_REGION", "us_east_1");
  load();
  EXPECT_TRUE(problem_mentions("AWS_DEFAULT_REGION=us_east_1 is not an AWS region name")) << all_problems();
}

TEST_F(AwsConfigTest, EndpointVariablesOverrideInTheSdkOrder) {
  set("AWS_REGION", "us-east-1");
  static_keys();
  set("AWS_ENDPOINT_URL", "http://localstack:4566/");
  set("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000");
  auto c = load();
  EXPECT_TRUE(problems().empty()) << all_problems();
  EXPECT_EQ(c.sqs_endpoint, "http://localstack:4566");  // the trailing slash is dropped
  EXPECT_EQ(c.dynamodb_endpoint, "http://127.0.0.1:8000");
  EXPECT_EQ(c.sts_endpoint, "http://localstack:4566");
  set("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:9325");
  set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9999");
  c = load();
  EXPECT_EQ(c.sqs_endpoint, "http://127.0.0.1:9325");
  EXPECT_EQ(c.sts_endpoint, "http://127.0.0.1:9999");
  set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true");
  c = load();
  EXPECT_EQ(c.sqs_endpoint, "https://sqs.us-east-1.amazonaws.com");
  EXPECT_EQ(c.dynamodb_endpoint, "https://dynamodb.us-east-1.amazonaws.com");
}

TEST_F(AwsConfigTest, MalformedEndpointsAreNamed) {
  set("AWS_REGION", "us-east-1");
  static_keys();
  set("AWS_ENDPOINT_URL", "localhost:4566");
  set("AWS_ENDPOINT_URL_SQS", "ftp://x");
  set("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "maybe");
  load();
  EXPECT_TRUE(problem_mentions("AWS_ENDPOINT_URL=localhost:4566 is not an http:// or https:// URL")) << all_problems();
  EXPECT_TRUE(problem_mentions("AWS_ENDPOINT_URL_SQS=ftp://x")) << all_problems();
  EXPECT_TRUE(problem_mentions("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=maybe is not a boolean")) << all_problems();
}

TEST_F(AwsConfigTest, SessionTokenIsKeptWithStaticKeys) {
  set("AWS_REGION", "us-east-1");
  static_keys();
  set("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEBYaDH/token+=");
  auto c = load();
  ASSERT_TRUE(c.static_credentials);
  EXPECT_EQ(c.static_credentials->session_token, "FwoGZXIvYXdzEBYaDH/token+=");
  EXPECT_EQ(c.describe().find("FwoGZXIvYXdzEBYaDH"), std::string::npos);
  EXPECT_EQ(c.describe().find("wJalrXUtnFEMI"), std::string::npos);
  EXPECT_NE(c.describe().find("ending in MPLE, with a session token"), std::string::npos) << c.describe();
}

TEST_F(AwsConfigTest, HalfAKeyPairIsNamedAndSecretsAreNeverQuoted) {
  set("AWS_REGION", "us-east-1");
  set("AWS_SECRET_ACCESS_KEY", "s3cr3t-value");
  load();
  EXPECT_TRUE(problem_mentions("AWS_ACCESS_KEY_ID must be set when AWS_SECRET_ACCESS_KEY is")) << all_problems();
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
  load();
  EXPECT_TRUE(problem_mentions("AWS_SECRET_ACCESS_KEY must be set when AWS_ACCESS_KEY_ID is")) << all_problems();

  set("AWS_SECRET_ACCESS_KEY", "s3cr3t-value\n");  // pasted from a file with its newline
  set("AWS_SESSION_TOKEN", "tok en");
  load();
  EXPECT_TRUE(problem_mentions("AWS_SECRET_ACCESS_KEY contains spaces or control characters")) << all_problems();
  EXPECT_TRUE(problem_mentions("AWS_SESSION_TOKEN contains spaces or control characters")) << all_problems();
  EXPECT_FALSE(problem_mentions("s3cr3t")) << all_problems();
  EXPECT_FALSE(problem_mentions("tok en")) << all_problems();

  set("AWS_ACCESS_KEY_ID", "not/a key");
  set("AWS_SECRET_ACCESS_KEY", "fine");
  ::unsetenv("AWS_SESSION_TOKEN");
  load();
  EXPECT_TRUE(problem_mentions("AWS_ACCESS_KEY_ID is not an access key id")) << all_problems();
  EXPECT_FALSE(problem_mentions("not/a key")) << all_problems();
}

TEST_F(AwsConfigTest, SessionTokenAloneIsAnError) {
  set("AWS_REGION", "us-east-1");
  set("AWS_SESSION_TOKEN", "abc");
  load();
  EXPECT_TRUE(problem_mentions("AWS_SESSION_TOKEN is set but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not"))
      << all_problems();
}

TEST_F(AwsConfigTest, NoCredentialsAtAllIsAnError) {
  set("AWS_REGION", "us-east-1");
  load();
  EXPECT_TRUE(problem_mentions("no AWS credentials")) << all_problems();
}

TEST_F(AwsConfigTest, WebIdentityAsEksSetsIt) {
  set("AWS_REGION", "eu-central-1");
  write_token_file("eyJhbGciOiJSUzI1NiJ9.payload.sig\n");
  set("AWS_WEB_IDENTITY_TOKEN_FILE", token_file_);
  set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/togglemaster-analytics");
  auto c = load();
  EXPECT_TRUE(problems().empty()) << all_problems();
  EXPECT_FALSE(c.static_credentials);
  ASSERT_TRUE(c.web_identity);
  EXPECT_EQ(c.web_identity->token_file, token_file_);
  EXPECT_EQ(c.web_identity->role_arn, "arn:aws:iam::123456789012:role/togglemaster-analytics");
  EXPECT_EQ(c.web_identity->session_name.rfind("togglemaster-", 0), 0u);  // a default name
  EXPECT_EQ(c.sts_endpoint, "https://sts.eu-central-1.amazonaws.com");
  EXPECT_NE(c.describe().find("web-identity"), std::string::npos);

  set("AWS_ROLE_SESSION_NAME", "analytics-pod-1");
  EXPECT_EQ(load().web_identity->session_name, "analytics-pod-1");
}

TEST_F(AwsConfigTest, StaticKeysWinOverWebIdentity) {
  set("AWS_REGION", "eu-central-1");
  static_keys();
  set("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token");
  set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r");
  auto c = load();
  EXPECT_TRUE(problems().empty()) << all_problems();
  EXPECT_TRUE(c.static_credentials);
  EXPECT_FALSE(c.web_identity);
}

TEST_F(AwsConfigTest, WebIdentityProblemsAreNamed) {
  set("AWS_REGION", "eu-central-1");
  set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r");
  load();
  EXPECT_TRUE(problem_mentions("AWS_WEB_IDENTITY_TOKEN_FILE must be set when AWS_ROLE_ARN is")) << all_problems();

  ::unsetenv("AWS_ROLE_ARN");
  set("AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token");
  load();
  EXPECT_TRUE(problem_mentions("AWS_WEB_IDENTITY_TOKEN_FILE=/nonexistent/token cannot be read")) << all_problems();
  EXPECT_TRUE(problem_mentions("AWS_ROLE_ARN must be set when AWS_WEB_IDENTITY_TOKEN_FILE is")) << all_problems();

  write_token_file("");
  set("AWS_WEB_IDENTITY_TOKEN_FILE", token_file_);
  set("AWS_ROLE_ARN", "my-role");
  set("AWS_ROLE_SESSION_NAME", "has space");
  load();
  EXPECT_TRUE(problem_mentions("AWS_WEB_IDENTITY_TOKEN_FILE=" + token_file_ + " is empty")) << all_problems();
  EXPECT_TRUE(problem_mentions("AWS_ROLE_ARN=my-role is not an IAM role ARN")) << all_problems();
  EXPECT_TRUE(problem_mentions("AWS_ROLE_SESSION_NAME=has space is not 2 to 64")) << all_problems();
}

TEST_F(AwsConfigTest, ProvidersFollowTheConfiguration) {
  set("AWS_REGION", "us-east-1");
  static_keys();
  auto c = load();
  auto provider = toggle::cloud::make_credentials_provider(c);
  auto credentials = provider->get(toggle::cloud::deadline_after(std::chrono::seconds(1)));
  EXPECT_EQ(credentials.access_key_id, "AKIDEXAMPLE");
  EXPECT_FALSE(credentials.expiration);
  EXPECT_THROW(toggle::cloud::make_credentials_provider(toggle::cloud::AwsConfig{}), std::invalid_argument);
  auto sqs = toggle::cloud::sqs_service(c);
  EXPECT_EQ(sqs.signing_name, "sqs");
  EXPECT_EQ(sqs.target_prefix, "AmazonSQS");
  EXPECT_EQ(sqs.endpoint, "https://sqs.us-east-1.amazonaws.com");
  EXPECT_EQ(sqs.region, "us-east-1");
  auto dynamodb = toggle::cloud::dynamodb_service(c);
  EXPECT_EQ(dynamodb.signing_name, "dynamodb");
  EXPECT_EQ(dynamodb.target_prefix, "DynamoDB_20120810");
  EXPECT_EQ(dynamodb.endpoint, "https://dynamodb.us-east-1.amazonaws.com");
}

}  // namespace
