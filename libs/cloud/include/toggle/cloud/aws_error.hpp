// What an AWS call can fail with: one error type for every client in this library (SQS,
// DynamoDB, STS), saying whether trying again later may succeed, with AWS's own error code and
// message. And the deadline every call takes.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace toggle::cloud {

// Every call finishes (successfully or with an AwsError) by its deadline, retries included.
using Deadline = std::chrono::steady_clock::time_point;
inline Deadline deadline_after(std::chrono::milliseconds timeout) { return std::chrono::steady_clock::now() + timeout; }

class AwsError : public std::runtime_error {
 public:
  // `http_status` 0: no HTTP reply (transport error, timeout, or a problem found before sending).
  AwsError(int http_status, std::string code, std::string message, bool retryable);

  int http_status() const { return http_status_; }
  // AWS's error code without its namespace ("ThrottlingException", "QueueDoesNotExist"), or one of
  // ours for failures without an AWS reply: "TransportError", "Timeout", "Cancelled",
  // "InvalidResponse", "UnknownError" (an error reply without a code).
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  // True when the same request may succeed later unchanged: transport errors, timeouts, HTTP 5xx
  // and 429, throttling. False for bad requests, access denied, bad credentials.
  bool retryable() const { return retryable_; }
  // DynamoDB's ConditionalCheckFailedException: the item is not in the state the condition wants.
  bool condition_failed() const { return code_ == "ConditionalCheckFailedException"; }

 private:
  int http_status_;
  std::string code_, message_;
  bool retryable_;
};

// Whether an error reply with this status and code is worth retrying (see AwsError::retryable).
bool is_retryable(int http_status, std::string_view code);
// Whether the code says the request was rejected for throttling (back off before retrying).
bool is_throttling(std::string_view code);
// Whether the code says the temporary credentials have expired (fetch new ones, then retry).
bool is_expired_credentials(std::string_view code);

// The error an AWS JSON-protocol reply describes: the code from the body's "__type" (or "code"),
// else from the X-Amzn-ErrorType header, without its "namespace#" prefix and ":detail" suffix;
// the message from "message" / "Message".
AwsError aws_error_from_reply(int http_status, std::string_view body, std::string_view error_type_header = {});

}  // namespace toggle::cloud
