#include "toggle/cloud/aws_error.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

namespace toggle::cloud {
namespace {

// The codes the AWS SDKs retry as throttling (@smithy/service-error-classification, botocore),
// with SQS's and DynamoDB's own.
constexpr std::array<std::string_view, 17> kThrottlingCodes = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "KmsThrottled",                      // SQS: KMS throttled the queue's encryption
    "OverLimit",                         // SQS: too many in-flight messages
    "ReplicatedWriteConflictException",  // DynamoDB global tables: retry
};

// Transient failures whatever their status code.
constexpr std::array<std::string_view, 11> kTransientCodes = {
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "IDPCommunicationError",  // STS could not reach the identity provider
    "TransportError",
    "Timeout",
    "KMSInternal",
};

bool contains(const auto& list, std::string_view code) {
  return std::find(list.begin(), list.end(), code) != list.end();
}

// "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException" -> the part after '#';
// "ValidationException:http://internal.amazon.com/coral/..." -> the part before ':'.
std::string bare_code(std::string_view code) {
  if (auto hash = code.rfind('#'); hash != std::string_view::npos) code.remove_prefix(hash + 1);
  if (auto colon = code.find(':'); colon != std::string_view::npos) code = code.substr(0, colon);
  return std::string(code);
}

std::string string_member(const nlohmann::json& j, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    auto it = j.find(name);
    if (it != j.end() && it->is_string()) return it->get<std::string>();
  }
  return {};
}

}  // namespace

AwsError::AwsError(int http_status, std::string code, std::string message, bool retryable)
    : std::runtime_error(code + (message.empty() ? "" : ": " + message) +
                         (http_status ? " (HTTP " + std::to_string(http_status) + ")" : "")),
      http_status_(http_status),
      code_(std::move(code)),
      message_(std::move(message)),
      retryable_(retryable) {}

bool is_throttling(std::string_view code) { return contains(kThrottlingCodes, code); }

bool is_expired_credentials(std::string_view code) { return code == "ExpiredToken" || code == "ExpiredTokenException"; }

bool is_retryable(int http_status, std::string_view code) {
  if (is_throttling(code) || contains(kTransientCodes, code) || is_expired_credentials(code)) return true;
  return http_status == 429 || http_status >= 500 || http_status == 0;
}

AwsError aws_error_from_reply(int http_status, std::string_view body, std::string_view error_type_header) {
  std::string code, message;
  auto parsed = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_object()) {
    code = bare_code(string_member(parsed, {"__type", "code", "Code"}));
    message = string_member(parsed, {"message", "Message", "errorMessage"});
  }
  if (code.empty()) code = bare_code(error_type_header);
  if (code.empty()) code = "UnknownError";
  if (message.empty() && !parsed.is_object() && !body.empty())
    message = std::string(body.substr(0, 200));  // e.g. a proxy's HTML page: its beginning says enough
  return AwsError(http_status, code, message, is_retryable(http_status, code));
}

}  // namespace toggle::cloud
