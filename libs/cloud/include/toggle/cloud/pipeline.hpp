// Which event pipeline a process uses, read in one place for evaluation-service, analytics-service
// and the resource set-up (`analytics-service --init-cloud`, scripts/init-cloud.sh):
//
//   CLOUD_PROVIDER unset or empty   direct: evaluation POSTs batches to analytics' /events, analytics
//                                   stores into SQL (SQLite, or PostgreSQL with DATABASE_URL)
//   CLOUD_PROVIDER=aws              evaluation -> SQS (AWS_SQS_URL) -> analytics -> DynamoDB
//                                   (AWS_DYNAMODB_TABLE), with the AWS_* settings of aws_config.hpp
//   CLOUD_PROVIDER=azure            evaluation -> Service Bus queue (AZURE_SERVICEBUS_*) -> analytics
//                                   -> Cosmos DB Table API (AZURE_COSMOS_*), see azure_settings.hpp
//
// Every problem is reported through Env::fail naming its variable, so the service stops at start
// with status 2; factories return the seams of toggle/core/event_transport.hpp.
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "toggle/cloud/aws_config.hpp"
#include "toggle/cloud/aws_error.hpp"
#include "toggle/cloud/azure_settings.hpp"
#include "toggle/core/event_transport.hpp"

namespace toggle {
class Env;
}

namespace toggle::cloud {

enum class CloudProvider { direct, aws, azure };

struct AwsPipelineSettings {
  AwsConfig aws;
  std::shared_ptr<CredentialsProvider> credentials;  // one for SQS and DynamoDB (one STS session)
  std::string queue_url;                             // AWS_SQS_URL
  std::string queue_name;                            // its last path segment
  std::string table = "ToggleMasterAnalytics";       // AWS_DYNAMODB_TABLE (the seed's name)
  std::string counts_table;                          // AWS_DYNAMODB_COUNTS_TABLE, default "<table>-counts"
  int visibility_timeout_s = 60;                     // AWS_SQS_VISIBILITY_TIMEOUT (seconds)
  int max_receive_count = 5;                         // AWS_SQS_MAX_RECEIVE_COUNT: deliveries before the DLQ
  std::string dead_letter_queue_name() const { return queue_name + "-dlq"; }
};

// What each role reads: evaluation the queue, analytics the queue and the tables, --init-cloud the
// tables only (the queue comes from Terraform, or from the broker's own set-up).
struct AzurePipelineSettings {
  ServiceBusSettings servicebus;  // AZURE_SERVICEBUS_CONNECTION_STRING, AZURE_SERVICEBUS_QUEUE
  CosmosSettings cosmos;          // AZURE_COSMOS_CONNECTION_STRING, AZURE_COSMOS_TABLE
};

// What a process needs of the pipeline, so that it reads (and requires) only that.
enum class PipelineRole {
  publisher,  // evaluation-service: the queue
  consumer,   // analytics-service: the queue and the store
  init,       // --init-cloud: everything it creates
};

struct PipelineSettings {
  CloudProvider provider = CloudProvider::direct;
  AwsPipelineSettings aws;
  AzurePipelineSettings azure;

  static PipelineSettings from_env(Env& env, PipelineRole role);
  bool direct() const { return provider == CloudProvider::direct; }
  // For the start-up log: the provider, queue, tables, endpoints and credential source; no secret.
  std::string describe() const;
};

// The cloud implementations of the seams (not for the direct mode, whose publisher and store live
// in the services). Nothing is contacted here: problems show at the first call and in readiness().
std::unique_ptr<EventPublisher> make_event_publisher(const PipelineSettings& settings);
std::unique_ptr<EventQueue> make_event_queue(const PipelineSettings& settings);
std::unique_ptr<EventStore> make_event_store(const PipelineSettings& settings);

// Creates what the Azure pipeline needs, idempotently: the Cosmos DB tables <table> and
// <table>ByTime. One line per table. Throws TableError.
std::vector<std::string> create_azure_resources(const AzurePipelineSettings& settings);

// Creates what the AWS pipeline needs, idempotently: the dead-letter queue, the queue (lease =
// visibility timeout, RedrivePolicy to the DLQ after max_receive_count deliveries), the events
// table with its two indexes and the counts table, and waits until they are ACTIVE. Returns one
// line per resource ("created …" / "exists …"). Throws AwsError (std::runtime_error for a table
// that exists without the indexes).
std::vector<std::string> create_aws_resources(const AwsPipelineSettings& settings, Deadline deadline);

// `analytics-service --init-cloud`: reads the settings (CLOUD_PROVIDER included) from the
// environment, creates the resources, prints what it did. Exit status: 0 done, 1 failed, 2 bad
// configuration. Retries while the endpoints do not answer yet (a container starting), up to
// INIT_CLOUD_TIMEOUT_MS (default 60 s).
int init_cloud_main(std::ostream& out, std::ostream& err);

}  // namespace toggle::cloud
