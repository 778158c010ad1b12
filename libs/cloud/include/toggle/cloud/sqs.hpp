// Amazon SQS over its JSON protocol (`X-Amz-Target: AmazonSQS.<Op>`, application/x-amz-json-1.0),
// the operations the event pipeline needs: batched sends, long-poll receives, batched deletes,
// lease extensions, queue depth, and idempotent queue creation (with a dead-letter queue).
//
//   toggle::cloud::SqsClient sqs(config);   // AwsConfig from aws_config_from_env()
//   auto result = sqs.send_message_batch(url, entries, deadline_after(5s));
//   for (auto& f : result.failed) if (f.retryable) ...;   // only those are worth sending again
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/cloud/aws_config.hpp"
#include "toggle/cloud/aws_json.hpp"

namespace toggle::cloud {

// SQS limits for one SendMessageBatch call: entries, and the sum of the message bodies' sizes.
inline constexpr std::size_t kSqsMaxBatchEntries = 10;
inline constexpr std::size_t kSqsMaxBatchBytes = 256 * 1024;

struct SqsSendEntry {
  std::string id;                    // unique within one send_message_batch() call: [A-Za-z0-9_-]{1,80}
  std::string body;                  // UTF-8 text, at most kSqsMaxBatchBytes
  std::optional<int> delay_seconds;  // 0..900
};

// One entry that was not sent / deleted / changed, and why.
struct SqsEntryFailure {
  std::string id;
  std::string code;  // SQS's per-entry code, or the code of the error that failed its whole call
  std::string message;
  bool retryable = false;  // SQS said it was not the sender's fault, or the call failed retryably
};

struct SqsSendResult {
  std::vector<std::string> sent;  // ids of the entries SQS accepted
  std::vector<SqsEntryFailure> failed;
};

struct SqsReceiveOptions {
  int max_messages = 10;                      // 1..10
  int wait_seconds = 20;                      // long poll, 0..20; shortened to fit the deadline
  std::optional<int> visibility_timeout;      // seconds, 0..43200; none: the queue's
  std::vector<std::string> attribute_names;   // system attributes beyond ApproximateReceiveCount
  const std::atomic<bool>* cancel = nullptr;  // set to true to abandon the poll (e.g. SIGTERM)
};

struct SqsMessage {
  std::string message_id;
  std::string receipt_handle;  // needed to delete the message or change its visibility
  std::string body;
  int receive_count = 0;                          // ApproximateReceiveCount: 1 on first delivery
  std::map<std::string, std::string> attributes;  // all system attributes returned
};

// One receipt handle to act on, named by an id of the caller's (unique within the call).
struct SqsReceipt {
  std::string id;
  std::string receipt_handle;
};

struct SqsBatchResult {
  std::vector<std::string> succeeded;  // ids
  std::vector<SqsEntryFailure> failed;
};

// Which entries go into which SendMessageBatch call: consecutive groups of at most `max_entries`
// whose bodies add up to at most `max_bytes`. Entries whose body alone exceeds `max_bytes` are in
// no group (`too_large`).
struct SqsSendPlan {
  std::vector<std::vector<std::size_t>> batches;  // indices into the entries
  std::vector<std::size_t> too_large;
};
SqsSendPlan plan_send_batches(const std::vector<SqsSendEntry>& entries, std::size_t max_entries = kSqsMaxBatchEntries,
                              std::size_t max_bytes = kSqsMaxBatchBytes);

// The SQS endpoint and region of a configuration.
AwsService sqs_service(const AwsConfig& config);

// Thread-safe: one client may serve many threads at once (each thread keeps its own connections).
class SqsClient {
 public:
  // With credentials of its own (make_credentials_provider(config)).
  explicit SqsClient(const AwsConfig& config, AwsCallOptions options = {});
  // With a provider shared with other clients (one STS session for SQS and DynamoDB):
  //   auto credentials = make_credentials_provider(config);
  //   SqsClient sqs(sqs_service(config), credentials);  DynamoDbClient db(dynamodb_service(config), credentials);
  SqsClient(AwsService service, std::shared_ptr<CredentialsProvider> credentials, AwsCallOptions options = {});

  // Sends every entry, in as many SendMessageBatch calls as the limits need (in parallel).
  // Never throws AwsError: a call that fails fails each of its entries, with the call's error.
  // An entry too large or not valid SQS text fails alone (not retryable).
  SqsSendResult send_message_batch(const std::string& queue_url, const std::vector<SqsSendEntry>& entries,
                                   Deadline deadline) const;
  // Up to max_messages messages, or none when the long poll ends empty. Throws AwsError.
  std::vector<SqsMessage> receive_messages(const std::string& queue_url, const SqsReceiveOptions& options,
                                           Deadline deadline) const;
  // Deletes in batches of 10 (in parallel). Never throws AwsError (see send_message_batch).
  SqsBatchResult delete_message_batch(const std::string& queue_url, const std::vector<SqsReceipt>& receipts,
                                      Deadline deadline) const;
  // Makes an in-flight message invisible for `visibility_timeout_seconds` more from now (extends
  // its lease), or visible at once with 0. Throws AwsError.
  void change_message_visibility(const std::string& queue_url, const std::string& receipt_handle,
                                 int visibility_timeout_seconds, Deadline deadline) const;
  // The same for many messages, in batches of 10. Never throws AwsError.
  SqsBatchResult change_message_visibility_batch(const std::string& queue_url, const std::vector<SqsReceipt>& receipts,
                                                 int visibility_timeout_seconds, Deadline deadline) const;
  // Attributes by name ("ApproximateNumberOfMessages", "QueueArn", ..., or "All"). Throws AwsError.
  std::map<std::string, std::string> get_queue_attributes(const std::string& queue_url,
                                                          const std::vector<std::string>& names,
                                                          Deadline deadline) const;
  // Throws AwsError (code "QueueDoesNotExist" when there is no such queue).
  std::string get_queue_url(const std::string& queue_name, Deadline deadline) const;
  // Creates the queue, or finds the existing one and sets `attributes` on it (SQS refuses to
  // create a queue that exists with other attributes), so that running it again is harmless.
  // Returns the queue URL. Attributes as SQS names them: "VisibilityTimeout" -> "60",
  // "RedrivePolicy" -> redrive_policy(dlq_arn, 5), ... Throws AwsError.
  std::string create_queue(const std::string& queue_name, const std::map<std::string, std::string>& attributes,
                           Deadline deadline) const;
  void set_queue_attributes(const std::string& queue_url, const std::map<std::string, std::string>& attributes,
                            Deadline deadline) const;

  const AwsJsonClient& transport() const { return client_; }

 private:
  SqsBatchResult receipt_batches(std::string_view operation, const std::string& queue_url,
                                 const std::vector<SqsReceipt>& receipts, std::optional<int> visibility_timeout,
                                 Deadline deadline) const;

  AwsJsonClient client_;
};

// The RedrivePolicy attribute's value: after `max_receive_count` receives without a delete, SQS
// moves a message to the queue `dead_letter_queue_arn`.
std::string redrive_policy(const std::string& dead_letter_queue_arn, int max_receive_count);

}  // namespace toggle::cloud
