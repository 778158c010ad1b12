// The one place that creates the AWS pipeline's resources (`analytics-service --init-cloud`,
// scripts/init-cloud.sh aws, the Compose stack's LocalStack set-up).
#include <stdexcept>

#include "toggle/cloud/aws_pipeline.hpp"
#include "toggle/cloud/pipeline.hpp"

namespace toggle::cloud {
namespace {

// Creates the queue or finds it; says which in the report.
std::string ensure_queue(const SqsClient& sqs, const std::string& name, const std::map<std::string, std::string>& attributes,
                         Deadline deadline, std::vector<std::string>& report) {
  bool existed = true;
  try {
    sqs.get_queue_url(name, deadline);
  } catch (const AwsError& e) {
    if (e.code() != "QueueDoesNotExist" && e.code() != "NonExistentQueue") throw;
    existed = false;
  }
  std::string url = sqs.create_queue(name, attributes, deadline);
  report.push_back((existed ? "exists (attributes set): queue " : "created: queue ") + name + " " + url);
  return url;
}

void ensure_table(const DynamoDbClient& db, const TableSpec& spec, Deadline deadline, std::vector<std::string>& report) {
  bool created = db.create_table(spec, deadline);
  TableDescription d = db.wait_until_active(spec.name, deadline);
  for (const auto& index : spec.indexes) {
    if (!d.index_status.count(index.name))
      // e.g. the seed's table, keyed by event_id alone: its items stay readable, but /events and
      // /summary need the indexes (DynamoDB adds one per UpdateTable call; not done here).
      throw std::runtime_error("table " + spec.name + " exists without the global secondary index " + index.name +
                               " (hash " + index.hash_key + ", range " + index.range_key +
                               "): add it, or use another AWS_DYNAMODB_TABLE");
  }
  report.push_back((created ? "created: table " : "exists: table ") + spec.name);
}

}  // namespace

std::vector<std::string> create_aws_resources(const AwsPipelineSettings& s, Deadline deadline) {
  std::vector<std::string> report;
  SqsClient sqs(sqs_service(s.aws), s.credentials);
  DynamoDbClient db(dynamodb_service(s.aws), s.credentials);

  // The dead-letter queue keeps messages 14 days (SQS's longest), the queue 4 (its default).
  std::string dlq = ensure_queue(sqs, s.dead_letter_queue_name(), {{"MessageRetentionPeriod", "1209600"}}, deadline, report);
  std::string dlq_arn = sqs.get_queue_attributes(dlq, {"QueueArn"}, deadline)["QueueArn"];
  if (dlq_arn.empty()) throw AwsError(200, "InvalidResponse", "GetQueueAttributes: no QueueArn for " + dlq, false);
  std::string url = ensure_queue(sqs,
                                 s.queue_name,
                                 {{"VisibilityTimeout", std::to_string(s.visibility_timeout_s)},
                                  {"RedrivePolicy", redrive_policy(dlq_arn, s.max_receive_count)}},
                                 deadline, report);
  if (url != s.queue_url)
    report.push_back("note: SQS names the queue " + url + "; AWS_SQS_URL is " + s.queue_url +
                     " (fine if both reach the same endpoint)");

  ensure_table(db, events_table_spec(s.table), deadline, report);
  ensure_table(db, counts_table_spec(s.counts_table), deadline, report);
  return report;
}

}  // namespace toggle::cloud
