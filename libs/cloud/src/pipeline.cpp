#include "toggle/cloud/pipeline.hpp"

#include <cstdlib>
#include <ostream>
#include <regex>
#include <stdexcept>
#include <thread>

#include "toggle/cloud/aws_pipeline.hpp"
#include "toggle/cloud/cosmos_event_store.hpp"
#include "toggle/cloud/cosmos_table_client.hpp"
#include "toggle/cloud/servicebus_events.hpp"
#include "toggle/core/config.hpp"
#include "toggle/core/log.hpp"

namespace toggle::cloud {
namespace {

bool valid_table_name(const std::string& name) {
  static const std::regex pattern("[A-Za-z0-9_.-]{3,255}");
  return std::regex_match(name, pattern);
}

void read_aws(Env& env, PipelineRole role, AwsPipelineSettings& s) {
  s.aws = aws_config_from_env(env);
  // The queue URL as SQS gives it (https://sqs.<region>.amazonaws.com/<account>/<name>, or an
  // emulator's); its last segment is the queue's name.
  if (!std::getenv("AWS_SQS_URL")) {
    env.fail("AWS_SQS_URL must be set with CLOUD_PROVIDER=aws (the queue's URL, e.g. "
             "https://sqs.us-east-1.amazonaws.com/123456789012/togglemaster-queue)");
  } else {
    s.queue_url = env.url("AWS_SQS_URL", "");
    auto slash = s.queue_url.rfind('/');
    auto scheme_end = s.queue_url.find("://");
    s.queue_name = slash == std::string::npos || slash < scheme_end + 3 ? "" : s.queue_url.substr(slash + 1);
    static const std::regex name_pattern("[A-Za-z0-9_-]{1,76}");
    if (s.queue_name.size() > 5 && s.queue_name.compare(s.queue_name.size() - 5, 5, ".fifo") == 0)
      env.fail("AWS_SQS_URL names a FIFO queue: the pipeline uses a standard queue");
    else if (!std::regex_match(s.queue_name, name_pattern))
      env.fail("AWS_SQS_URL=" + s.queue_url +
               " does not end with a queue name (letters, digits, - and _, at most 76 so that '-dlq' fits)");
  }
  if (role == PipelineRole::publisher) return;
  s.table = env.str("AWS_DYNAMODB_TABLE", s.table);
  if (!valid_table_name(s.table))
    env.fail("AWS_DYNAMODB_TABLE=" + s.table + " is not a DynamoDB table name (3-255 letters, digits, _ . -)");
  s.counts_table = env.str("AWS_DYNAMODB_COUNTS_TABLE", s.table + "-counts");
  if (!valid_table_name(s.counts_table))
    env.fail("AWS_DYNAMODB_COUNTS_TABLE=" + s.counts_table + " is not a DynamoDB table name (3-255 letters, digits, _ . -)");
  else if (s.counts_table == s.table)
    env.fail("AWS_DYNAMODB_COUNTS_TABLE must differ from AWS_DYNAMODB_TABLE");
  s.visibility_timeout_s = static_cast<int>(env.integer("AWS_SQS_VISIBILITY_TIMEOUT", 60, 2, 43200));
  s.max_receive_count = static_cast<int>(env.integer("AWS_SQS_MAX_RECEIVE_COUNT", 5, 1, 1000));
}

}  // namespace

PipelineSettings PipelineSettings::from_env(Env& env, PipelineRole role) {
  PipelineSettings s;
  // Unset or empty: the embedded default. (Read directly: Env treats an empty variable as a
  // mistake, but an empty CLOUD_PROVIDER is the usual way to say "none" in Compose files.)
  const char* raw = std::getenv("CLOUD_PROVIDER");
  std::string provider = raw ? raw : "";
  if (provider.empty()) {
    if (std::getenv("AWS_SQS_URL"))
      log::warn("AWS_SQS_URL is set but CLOUD_PROVIDER is not: events go straight to analytics-service; "
                "set CLOUD_PROVIDER=aws to send them through SQS");
    return s;
  }
  if (provider == "aws") {
    s.provider = CloudProvider::aws;
    read_aws(env, role, s.aws);
    if (env.problems().empty()) s.aws.credentials = make_credentials_provider(s.aws.aws);
  } else if (provider == "azure") {
    s.provider = CloudProvider::azure;
    if (role != PipelineRole::init) s.azure.servicebus = servicebus_settings_from_env(env);
    if (role != PipelineRole::publisher) s.azure.cosmos = cosmos_settings_from_env(env);
  } else {
    env.fail("CLOUD_PROVIDER=" + provider +
             " is not aws or azure (unset it for the direct pipeline: HTTP to analytics-service, SQL)");
  }
  return s;
}

std::string PipelineSettings::describe() const {
  switch (provider) {
    case CloudProvider::direct:
      return "direct (HTTP to analytics-service, SQL)";
    case CloudProvider::aws:
      return "aws: queue " + aws.queue_url + ", tables " + aws.table + " and " + aws.counts_table + "; " +
             aws.aws.describe();
    case CloudProvider::azure: {
      std::string out = "azure:";
      if (!azure.servicebus.queue.empty()) out += " " + azure.servicebus.describe();
      if (!azure.cosmos.table.empty()) out += (out.size() > 6 ? "; " : " ") + azure.cosmos.describe();
      return out;
    }
  }
  return {};
}

namespace {

void require_cloud(const PipelineSettings& s) {
  if (s.direct() || (s.provider == CloudProvider::aws && !s.aws.credentials))
    throw std::logic_error("the cloud pipeline factories need CLOUD_PROVIDER settings read by from_env");
}

}  // namespace

std::unique_ptr<EventPublisher> make_event_publisher(const PipelineSettings& s) {
  require_cloud(s);
  if (s.provider == CloudProvider::azure)
    return std::make_unique<ServiceBusEventPublisher>(s.azure.servicebus.connection, s.azure.servicebus.queue);
  return std::make_unique<SqsEventPublisher>(
      std::make_shared<const SqsClient>(sqs_service(s.aws.aws), s.aws.credentials), s.aws.queue_url);
}

std::unique_ptr<EventQueue> make_event_queue(const PipelineSettings& s) {
  require_cloud(s);
  if (s.provider == CloudProvider::azure)
    return std::make_unique<ServiceBusEventQueue>(s.azure.servicebus.connection, s.azure.servicebus.queue);
  SqsQueueOptions options;
  options.visibility_timeout_s = s.aws.visibility_timeout_s;
  return std::make_unique<SqsEventQueue>(
      std::make_shared<const SqsClient>(sqs_service(s.aws.aws), s.aws.credentials), s.aws.queue_url, options);
}

std::unique_ptr<EventStore> make_event_store(const PipelineSettings& s) {
  require_cloud(s);
  if (s.provider == CloudProvider::azure)
    return std::make_unique<CosmosEventStore>(s.azure.cosmos.connection, s.azure.cosmos.table);
  // Up to 64 requests in flight: a batch's puts go out together (DynamoDB has no conditional
  // batch write, and the conditions are what keeps the counts exact).
  AwsCallOptions options;
  options.max_parallel = 64;
  return std::make_unique<DynamoEventStore>(
      std::make_shared<const DynamoDbClient>(dynamodb_service(s.aws.aws), s.aws.credentials, options), s.aws.table,
      s.aws.counts_table);
}

std::vector<std::string> create_azure_resources(const AzurePipelineSettings& settings) {
  std::vector<std::string> lines;
  for (const auto& t : create_cosmos_event_tables(settings.cosmos.connection, settings.cosmos.table))
    lines.push_back((t.created ? "created table " : "exists table ") + t.table);
  return lines;
}

int init_cloud_main(std::ostream& out, std::ostream& err) {
  Env env;
  PipelineSettings settings = PipelineSettings::from_env(env, PipelineRole::init);
  auto timeout = env.millis("INIT_CLOUD_TIMEOUT_MS", 60000, 1000, 3600000);
  if (settings.direct() && env.problems().empty()) {
    err << "init-cloud: CLOUD_PROVIDER is not set: the direct pipeline needs no cloud resources\n";
    return 2;
  }
  if (!env.problems().empty()) {
    for (const auto& p : env.problems()) err << "init-cloud: " << p << "\n";
    return 2;
  }
  out << "init-cloud: " << settings.describe() << "\n";
  auto deadline = deadline_after(timeout);
  for (int attempt = 0;; ++attempt) {
    try {
      auto lines = settings.provider == CloudProvider::azure ? create_azure_resources(settings.azure)
                                                             : create_aws_resources(settings.aws, deadline);
      for (const auto& line : lines) out << "init-cloud: " << line << "\n";
      return 0;
    } catch (const std::exception& e) {
      // An endpoint not answering yet (its container is starting): wait for it, within the timeout.
      auto* aws = dynamic_cast<const AwsError*>(&e);
      auto* table = dynamic_cast<const TableError*>(&e);
      bool retryable = (aws && aws->retryable()) || (table && table->retryable());
      bool waiting = retryable && std::chrono::steady_clock::now() + std::chrono::seconds(1) < deadline;
      if (!waiting) {
        err << "init-cloud: failed: " << e.what() << "\n";
        return 1;
      }
      if (attempt == 0) err << "init-cloud: waiting for the endpoints (" << e.what() << ")\n";
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
}

}  // namespace toggle::cloud
