// The pipeline's settings (CLOUD_PROVIDER, AWS_SQS_URL, AWS_DYNAMODB_TABLE, ...): each bad or
// missing value is a start-up problem naming its variable, and nothing secret is ever quoted.
#include "toggle/cloud/pipeline.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <sstream>
#include <string>

#include "toggle/core/config.hpp"

namespace {

using toggle::cloud::CloudProvider;
using toggle::cloud::PipelineRole;
using toggle::cloud::PipelineSettings;

const char* const kVariables[] = {
    "CLOUD_PROVIDER", "AWS_SQS_URL", "AWS_DYNAMODB_TABLE", "AWS_DYNAMODB_COUNTS_TABLE", "AWS_SQS_VISIBILITY_TIMEOUT",
    "AWS_SQS_MAX_RECEIVE_COUNT", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS",
    "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_STS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AZURE_SERVICEBUS_CONNECTION_STRING", "AZURE_SERVICEBUS_QUEUE",
    "AZURE_COSMOS_CONNECTION_STRING", "AZURE_COSMOS_TABLE",
};
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

class PipelineSettingsTest : public testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      if (const char* v = std::getenv(name)) saved_[name] = v;
      ::unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : kVariables) {
      auto it = saved_.find(name);
      if (it == saved_.end())
        ::unsetenv(name);
      else
        ::setenv(name, it->second.c_str(), 1);
    }
  }
  static void set(const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); }
  // A complete aws configuration, as the Compose stack gives it.
  static void aws() {
    set("CLOUD_PROVIDER", "aws");
    set("AWS_REGION", "us-east-1");
    set("AWS_ENDPOINT_URL", "http://localstack:4566");
    set("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE");
    set("AWS_SECRET_ACCESS_KEY", kSecret);
    set("AWS_SQS_URL", "http://localstack:4566/000000000000/togglemaster-queue");
  }
  PipelineSettings load(PipelineRole role = PipelineRole::consumer) {
    env_ = toggle::Env();
    return PipelineSettings::from_env(env_, role);
  }
  std::string problems() const {
    std::string out;
    for (const auto& p : env_.problems()) out += p + "\n";
    return out;
  }
  bool mentions(const std::string& text) const { return problems().find(text) != std::string::npos; }

  toggle::Env env_;
  std::map<std::string, std::string> saved_;
};

TEST_F(PipelineSettingsTest, UnsetOrEmptyMeansTheDirectPipeline) {
  EXPECT_TRUE(load().direct());
  EXPECT_EQ(problems(), "");
  set("CLOUD_PROVIDER", "");
  EXPECT_TRUE(load().direct());
  EXPECT_EQ(problems(), "");
  // AWS variables alone do not switch the pipeline (a warning says so).
  set("AWS_SQS_URL", "http://localstack:4566/000000000000/q");
  EXPECT_TRUE(load().direct());
  EXPECT_EQ(problems(), "");
}

TEST_F(PipelineSettingsTest, AnUnknownProviderIsAStartUpErrorNamingTheVariable) {
  set("CLOUD_PROVIDER", "gcp");
  load();
  EXPECT_TRUE(mentions("CLOUD_PROVIDER=gcp is not aws or azure")) << problems();
  set("CLOUD_PROVIDER", "AWS");  // the seed writes it in lower case
  load();
  EXPECT_TRUE(mentions("CLOUD_PROVIDER=AWS is not aws or azure")) << problems();
}

// Each role reads what it uses: evaluation the queue, analytics the queue and the tables,
// --init-cloud the tables only (the queue comes from Terraform or the broker).
TEST_F(PipelineSettingsTest, AzureRequiresWhatEachRoleUses) {
  set("CLOUD_PROVIDER", "azure");
  EXPECT_EQ(load(PipelineRole::publisher).provider, CloudProvider::azure);
  EXPECT_TRUE(mentions("AZURE_SERVICEBUS_CONNECTION_STRING")) << problems();
  EXPECT_FALSE(mentions("AZURE_COSMOS_CONNECTION_STRING")) << problems();
  load(PipelineRole::init);
  EXPECT_TRUE(mentions("AZURE_COSMOS_CONNECTION_STRING")) << problems();
  EXPECT_FALSE(mentions("AZURE_SERVICEBUS_CONNECTION_STRING")) << problems();
  load(PipelineRole::consumer);
  EXPECT_TRUE(mentions("AZURE_SERVICEBUS_CONNECTION_STRING")) << problems();
  EXPECT_TRUE(mentions("AZURE_COSMOS_CONNECTION_STRING")) << problems();
}

TEST_F(PipelineSettingsTest, AzureReadsTheConnectionStringsTerraformOutputs) {
  set("CLOUD_PROVIDER", "azure");
  set("AZURE_SERVICEBUS_CONNECTION_STRING",
      "Endpoint=sb://tm.servicebus.windows.net/;SharedAccessKeyName=analytics;SharedAccessKey=" + std::string(kSecret));
  set("AZURE_COSMOS_CONNECTION_STRING", "DefaultEndpointsProtocol=https;AccountName=tm;AccountKey=" +
                                            std::string("Zm9vYmFy") + ";TableEndpoint=https://tm.table.cosmos.azure.com:443/;");
  auto s = load(PipelineRole::consumer);
  EXPECT_EQ(problems(), "");
  EXPECT_EQ(s.azure.servicebus.queue, "evaluation-events");
  EXPECT_EQ(s.azure.cosmos.table, "EvaluationEvents");
  EXPECT_NE(s.describe().find("evaluation-events"), std::string::npos) << s.describe();
  EXPECT_NE(s.describe().find("EvaluationEvents"), std::string::npos) << s.describe();
  EXPECT_EQ(s.describe().find(kSecret), std::string::npos) << s.describe();
  set("AZURE_SERVICEBUS_QUEUE", "other-events");
  set("AZURE_COSMOS_TABLE", "Other");
  s = load(PipelineRole::consumer);
  EXPECT_EQ(s.azure.servicebus.queue, "other-events");
  EXPECT_EQ(s.azure.cosmos.table, "Other");
}

TEST_F(PipelineSettingsTest, AwsReadsTheSeedsVariablesWithDefaults) {
  aws();
  auto s = load();
  EXPECT_EQ(problems(), "");
  EXPECT_EQ(s.provider, CloudProvider::aws);
  EXPECT_EQ(s.aws.queue_url, "http://localstack:4566/000000000000/togglemaster-queue");
  EXPECT_EQ(s.aws.queue_name, "togglemaster-queue");
  EXPECT_EQ(s.aws.dead_letter_queue_name(), "togglemaster-queue-dlq");
  EXPECT_EQ(s.aws.table, "ToggleMasterAnalytics");
  EXPECT_EQ(s.aws.counts_table, "ToggleMasterAnalytics-counts");
  EXPECT_EQ(s.aws.visibility_timeout_s, 60);
  EXPECT_EQ(s.aws.max_receive_count, 5);
  EXPECT_EQ(s.aws.aws.sqs_endpoint, "http://localstack:4566");
  EXPECT_TRUE(s.aws.credentials);
  EXPECT_EQ(s.describe().find(kSecret), std::string::npos) << s.describe();

  set("AWS_DYNAMODB_TABLE", "events");
  set("AWS_DYNAMODB_COUNTS_TABLE", "event-counts");
  set("AWS_SQS_VISIBILITY_TIMEOUT", "120");
  set("AWS_SQS_MAX_RECEIVE_COUNT", "10");
  s = load(PipelineRole::init);
  EXPECT_EQ(problems(), "");
  EXPECT_EQ(s.aws.table, "events");
  EXPECT_EQ(s.aws.counts_table, "event-counts");
  EXPECT_EQ(s.aws.visibility_timeout_s, 120);
  EXPECT_EQ(s.aws.max_receive_count, 10);
}

TEST_F(PipelineSettingsTest, AwsWithoutQueueRegionOrCredentialsNamesEachVariable) {
  set("CLOUD_PROVIDER", "aws");
  load();
  EXPECT_TRUE(mentions("AWS_SQS_URL must be set")) << problems();
  EXPECT_TRUE(mentions("AWS_REGION must be set")) << problems();
  EXPECT_TRUE(mentions("no AWS credentials")) << problems();
}

TEST_F(PipelineSettingsTest, BadValuesAreNamed) {
  aws();
  set("AWS_SQS_URL", "localstack:4566/q");
  load();
  EXPECT_TRUE(mentions("AWS_SQS_URL=localstack:4566/q is not an http:// or https:// URL")) << problems();
  set("AWS_SQS_URL", "http://localstack:4566");
  load();
  EXPECT_TRUE(mentions("does not end with a queue name")) << problems();
  set("AWS_SQS_URL", "http://localstack:4566/000000000000/events.fifo");
  load();
  EXPECT_TRUE(mentions("FIFO")) << problems();
  set("AWS_SQS_URL", "");
  load();
  EXPECT_TRUE(mentions("AWS_SQS_URL is set to an empty string")) << problems();

  aws();
  set("AWS_DYNAMODB_TABLE", "a");
  set("AWS_SQS_VISIBILITY_TIMEOUT", "1");
  set("AWS_SQS_MAX_RECEIVE_COUNT", "0");
  load();
  EXPECT_TRUE(mentions("AWS_DYNAMODB_TABLE=a is not a DynamoDB table name")) << problems();
  EXPECT_TRUE(mentions("AWS_SQS_VISIBILITY_TIMEOUT=1")) << problems();
  EXPECT_TRUE(mentions("AWS_SQS_MAX_RECEIVE_COUNT=0")) << problems();
  set("AWS_DYNAMODB_TABLE", "same");
  set("AWS_DYNAMODB_COUNTS_TABLE", "same");
  ::unsetenv("AWS_SQS_VISIBILITY_TIMEOUT");
  ::unsetenv("AWS_SQS_MAX_RECEIVE_COUNT");
  load();
  EXPECT_TRUE(mentions("AWS_DYNAMODB_COUNTS_TABLE must differ")) << problems();
  EXPECT_EQ(problems().find(kSecret), std::string::npos);
}

TEST_F(PipelineSettingsTest, EvaluationReadsOnlyWhatItUses) {
  aws();
  set("AWS_DYNAMODB_TABLE", "a");  // analytics' business
  auto s = load(PipelineRole::publisher);
  EXPECT_EQ(problems(), "");
  EXPECT_EQ(s.aws.queue_name, "togglemaster-queue");
}

TEST_F(PipelineSettingsTest, InitWithoutAProviderIsABadConfiguration) {
  std::ostringstream out, err;
  EXPECT_EQ(toggle::cloud::init_cloud_main(out, err), 2);
  EXPECT_NE(err.str().find("CLOUD_PROVIDER is not set"), std::string::npos) << err.str();
  set("CLOUD_PROVIDER", "aws");
  err.str("");
  EXPECT_EQ(toggle::cloud::init_cloud_main(out, err), 2);
  EXPECT_NE(err.str().find("AWS_SQS_URL must be set"), std::string::npos) << err.str();
}

}  // namespace
