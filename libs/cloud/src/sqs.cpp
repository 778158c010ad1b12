#include "toggle/cloud/sqs.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "json_reply.hpp"
#include "toggle/core/text.hpp"

namespace toggle::cloud {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// SQS accepts #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF in UTF-8.
bool valid_sqs_text(std::string_view s) {
  if (!is_valid_utf8(s)) return false;  // also excludes surrogates
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return false;
    // U+FFFE and U+FFFF: EF BF BE / EF BF BF
    if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
        (static_cast<unsigned char>(s[i + 2]) == 0xBE || static_cast<unsigned char>(s[i + 2]) == 0xBF))
      return false;
  }
  return true;
}

// Reads a batch reply ({"Successful":[{"Id"}], "Failed":[{"Id","Code","Message","SenderFault"}]})
// for the entries `ids`; entries the reply does not mention are failed (retryable: SQS may or may
// not have acted on them, and every batch operation here may be repeated safely).
void read_batch_reply(const AwsOutcome& outcome, std::string_view operation, const std::vector<std::string>& ids,
                      std::vector<std::string>& succeeded, std::vector<SqsEntryFailure>& failed) {
  if (outcome.error) {
    for (const auto& id : ids)
      failed.push_back({id, outcome.error->code(), outcome.error->message(), outcome.error->retryable()});
    return;
  }
  std::set<std::string> unanswered(ids.begin(), ids.end());
  json reply;
  try {
    reply = detail::parse_reply(outcome.body, operation);
  } catch (const AwsError&) {
    reply = json::object();
  }
  if (auto it = reply.find("Successful"); it != reply.end() && it->is_array()) {
    for (const auto& entry : *it) {
      std::string id = detail::string_at(entry, "Id");
      if (unanswered.erase(id)) succeeded.push_back(id);
    }
  }
  if (auto it = reply.find("Failed"); it != reply.end() && it->is_array()) {
    for (const auto& entry : *it) {
      std::string id = detail::string_at(entry, "Id");
      if (!unanswered.erase(id)) continue;
      bool sender_fault = entry.value("SenderFault", false);
      failed.push_back({id, detail::string_at(entry, "Code"), detail::string_at(entry, "Message"), !sender_fault});
    }
  }
  for (const auto& id : unanswered)
    failed.push_back({id, "InvalidResponse", std::string(operation) + ": the reply does not mention this entry", true});
}

void require(bool ok, const std::string& problem) {
  if (!ok) throw std::invalid_argument(problem);
}

}  // namespace

SqsSendPlan plan_send_batches(const std::vector<SqsSendEntry>& entries, std::size_t max_entries,
                              std::size_t max_bytes) {
  SqsSendPlan plan;
  std::vector<std::size_t> batch;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::size_t size = entries[i].body.size();
    if (size > max_bytes) {
      plan.too_large.push_back(i);
      continue;
    }
    if (!batch.empty() && (batch.size() == max_entries || bytes + size > max_bytes)) {
      plan.batches.push_back(std::move(batch));
      batch.clear();
      bytes = 0;
    }
    batch.push_back(i);
    bytes += size;
  }
  if (!batch.empty()) plan.batches.push_back(std::move(batch));
  return plan;
}

std::string redrive_policy(const std::string& dead_letter_queue_arn, int max_receive_count) {
  require(max_receive_count >= 1 && max_receive_count <= 1000, "maxReceiveCount must be between 1 and 1000");
  return json{{"deadLetterTargetArn", dead_letter_queue_arn}, {"maxReceiveCount", max_receive_count}}.dump();
}

AwsService sqs_service(const AwsConfig& config) { return {"sqs", "AmazonSQS", config.sqs_endpoint, config.region}; }

SqsClient::SqsClient(const AwsConfig& config, AwsCallOptions options)
    : SqsClient(sqs_service(config), make_credentials_provider(config), options) {}

SqsClient::SqsClient(AwsService service, std::shared_ptr<CredentialsProvider> credentials, AwsCallOptions options)
    : client_(std::move(service), std::move(credentials), options) {}

SqsSendResult SqsClient::send_message_batch(const std::string& queue_url, const std::vector<SqsSendEntry>& entries,
                                            Deadline deadline) const {
  SqsSendResult result;
  SqsSendPlan plan = plan_send_batches(entries);
  for (auto i : plan.too_large)
    result.failed.push_back({entries[i].id, "MessageTooLong",
                             "the message is " + std::to_string(entries[i].body.size()) + " bytes; SQS takes at most " +
                                 std::to_string(kSqsMaxBatchBytes),
                             false});
  std::vector<std::string> bodies;
  std::vector<std::vector<std::string>> batch_ids;
  for (const auto& batch : plan.batches) {
    json request = {{"QueueUrl", queue_url}, {"Entries", json::array()}};
    std::vector<std::string> ids;
    for (auto i : batch) {
      const auto& entry = entries[i];
      if (!valid_sqs_text(entry.body)) {
        result.failed.push_back({entry.id, "InvalidMessageContents",
                                 "the message body is not UTF-8 text of the characters SQS allows", false});
        continue;
      }
      json e = {{"Id", entry.id}, {"MessageBody", entry.body}};
      if (entry.delay_seconds) e["DelaySeconds"] = *entry.delay_seconds;
      request["Entries"].push_back(std::move(e));
      ids.push_back(entry.id);
    }
    if (ids.empty()) continue;
    bodies.push_back(detail::to_text(request));
    batch_ids.push_back(std::move(ids));
  }
  auto outcomes = client_.call_all("SendMessageBatch", std::move(bodies), deadline);
  for (std::size_t b = 0; b < outcomes.size(); ++b)
    read_batch_reply(outcomes[b], "SendMessageBatch", batch_ids[b], result.sent, result.failed);
  return result;
}

std::vector<SqsMessage> SqsClient::receive_messages(const std::string& queue_url, const SqsReceiveOptions& options,
                                                    Deadline deadline) const {
  require(options.max_messages >= 1 && options.max_messages <= 10, "max_messages must be between 1 and 10");
  require(options.wait_seconds >= 0 && options.wait_seconds <= 20, "wait_seconds must be between 0 and 20");
  require(!options.visibility_timeout || (*options.visibility_timeout >= 0 && *options.visibility_timeout <= 43200),
          "visibility_timeout must be between 0 and 43200 seconds");
  // A long poll must end (and its reply arrive) before the deadline: keep 2 s for the reply.
  auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - Clock::now()).count() - 2;
  int wait = static_cast<int>(std::clamp<std::int64_t>(left, 0, options.wait_seconds));

  json names = json::array({"ApproximateReceiveCount"});
  for (const auto& n : options.attribute_names)
    if (n != "ApproximateReceiveCount") names.push_back(n);
  json request = {{"QueueUrl", queue_url},
                  {"MaxNumberOfMessages", options.max_messages},
                  {"WaitTimeSeconds", wait},
                  {"MessageSystemAttributeNames", names},
                  {"AttributeNames", names}};  // the older name of the same list, for older servers
  if (options.visibility_timeout) request["VisibilityTimeout"] = *options.visibility_timeout;
  json reply = detail::parse_reply(client_.call("ReceiveMessage", detail::to_text(request), deadline, options.cancel),
                                   "ReceiveMessage");
  std::vector<SqsMessage> messages;
  auto list = reply.find("Messages");
  if (list == reply.end() || !list->is_array()) return messages;
  for (const auto& m : *list) {
    SqsMessage message;
    message.message_id = detail::string_at(m, "MessageId");
    message.receipt_handle = detail::string_at(m, "ReceiptHandle");
    message.body = detail::string_at(m, "Body");
    if (auto attributes = m.find("Attributes"); attributes != m.end() && attributes->is_object()) {
      for (const auto& [name, value] : attributes->items())
        if (value.is_string()) message.attributes[name] = value.get<std::string>();
    }
    if (auto count = message.attributes.find("ApproximateReceiveCount"); count != message.attributes.end()) {
      try {
        message.receive_count = std::stoi(count->second);
      } catch (const std::exception&) {
        message.receive_count = 0;
      }
    }
    if (message.receipt_handle.empty())
      throw AwsError(200, "InvalidResponse", "ReceiveMessage: a message without a ReceiptHandle", false);
    messages.push_back(std::move(message));
  }
  return messages;
}

SqsBatchResult SqsClient::receipt_batches(std::string_view operation, const std::string& queue_url,
                                          const std::vector<SqsReceipt>& receipts,
                                          std::optional<int> visibility_timeout, Deadline deadline) const {
  std::vector<std::string> bodies;
  std::vector<std::vector<std::string>> batch_ids;
  for (const auto& batch : plan_batches(receipts.size(), kSqsMaxBatchEntries)) {
    json request = {{"QueueUrl", queue_url}, {"Entries", json::array()}};
    std::vector<std::string> ids;
    for (auto i : batch) {
      json e = {{"Id", receipts[i].id}, {"ReceiptHandle", receipts[i].receipt_handle}};
      if (visibility_timeout) e["VisibilityTimeout"] = *visibility_timeout;
      request["Entries"].push_back(std::move(e));
      ids.push_back(receipts[i].id);
    }
    bodies.push_back(detail::to_text(request));
    batch_ids.push_back(std::move(ids));
  }
  SqsBatchResult result;
  auto outcomes = client_.call_all(operation, std::move(bodies), deadline);
  for (std::size_t b = 0; b < outcomes.size(); ++b)
    read_batch_reply(outcomes[b], operation, batch_ids[b], result.succeeded, result.failed);
  return result;
}

SqsBatchResult SqsClient::delete_message_batch(const std::string& queue_url, const std::vector<SqsReceipt>& receipts,
                                               Deadline deadline) const {
  return receipt_batches("DeleteMessageBatch", queue_url, receipts, std::nullopt, deadline);
}

SqsBatchResult SqsClient::change_message_visibility_batch(const std::string& queue_url,
                                                          const std::vector<SqsReceipt>& receipts,
                                                          int visibility_timeout_seconds, Deadline deadline) const {
  require(visibility_timeout_seconds >= 0 && visibility_timeout_seconds <= 43200,
          "the visibility timeout must be between 0 and 43200 seconds");
  return receipt_batches("ChangeMessageVisibilityBatch", queue_url, receipts, visibility_timeout_seconds, deadline);
}

void SqsClient::change_message_visibility(const std::string& queue_url, const std::string& receipt_handle,
                                          int visibility_timeout_seconds, Deadline deadline) const {
  require(visibility_timeout_seconds >= 0 && visibility_timeout_seconds <= 43200,
          "the visibility timeout must be between 0 and 43200 seconds");
  json request = {
      {"QueueUrl", queue_url}, {"ReceiptHandle", receipt_handle}, {"VisibilityTimeout", visibility_timeout_seconds}};
  client_.call("ChangeMessageVisibility", detail::to_text(request), deadline);
}

std::map<std::string, std::string> SqsClient::get_queue_attributes(const std::string& queue_url,
                                                                   const std::vector<std::string>& names,
                                                                   Deadline deadline) const {
  json request = {{"QueueUrl", queue_url}, {"AttributeNames", names}};
  json reply =
      detail::parse_reply(client_.call("GetQueueAttributes", detail::to_text(request), deadline), "GetQueueAttributes");
  std::map<std::string, std::string> attributes;
  if (auto it = reply.find("Attributes"); it != reply.end() && it->is_object())
    for (const auto& [name, value] : it->items())
      attributes[name] = value.is_string() ? value.get<std::string>() : value.dump();
  return attributes;
}

std::string SqsClient::get_queue_url(const std::string& queue_name, Deadline deadline) const {
  json reply = detail::parse_reply(
      client_.call("GetQueueUrl", detail::to_text(json{{"QueueName", queue_name}}), deadline), "GetQueueUrl");
  std::string url = detail::string_at(reply, "QueueUrl");
  if (url.empty()) throw AwsError(200, "InvalidResponse", "GetQueueUrl: the reply has no QueueUrl", false);
  return url;
}

std::string SqsClient::create_queue(const std::string& queue_name, const std::map<std::string, std::string>& attributes,
                                    Deadline deadline) const {
  json request = {{"QueueName", queue_name}};
  if (!attributes.empty()) request["Attributes"] = attributes;
  try {
    json reply = detail::parse_reply(client_.call("CreateQueue", detail::to_text(request), deadline), "CreateQueue");
    std::string url = detail::string_at(reply, "QueueUrl");
    if (url.empty()) throw AwsError(200, "InvalidResponse", "CreateQueue: the reply has no QueueUrl", false);
    return url;
  } catch (const AwsError& e) {
    // The queue exists with other attributes: make them the ones asked for.
    if (e.code() != "QueueNameExists" && e.code() != "QueueAlreadyExists") throw;
  }
  std::string url = get_queue_url(queue_name, deadline);
  if (!attributes.empty()) set_queue_attributes(url, attributes, deadline);
  return url;
}

void SqsClient::set_queue_attributes(const std::string& queue_url, const std::map<std::string, std::string>& attributes,
                                     Deadline deadline) const {
  json request = {{"QueueUrl", queue_url}, {"Attributes", attributes}};
  client_.call("SetQueueAttributes", detail::to_text(request), deadline);
}

}  // namespace toggle::cloud
