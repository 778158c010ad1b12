// The one place where AWS JSON-protocol calls are made (SQS and DynamoDB both speak it): a POST to
// the service's endpoint with `X-Amz-Target: <prefix>.<Operation>` and a JSON body, signed with
// Signature Version 4 by libcurl itself (CURLOPT_AWS_SIGV4), X-Amz-Security-Token added for
// temporary credentials. Retryable failures (see AwsError) are retried with jittered exponential
// backoff, within the call's deadline and `max_attempts`; error replies become AwsError.
//
// Bodies are JSON text: the clients build and read them with nlohmann-json in their own .cpp files,
// so this header stays light.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/cloud/aws_credentials.hpp"
#include "toggle/cloud/aws_error.hpp"

namespace toggle::cloud {

struct AwsService {
  std::string signing_name;   // the SigV4 service name: "sqs", "dynamodb"
  std::string target_prefix;  // "AmazonSQS", "DynamoDB_20120810"
  std::string endpoint;       // base URL, e.g. https://sqs.eu-west-1.amazonaws.com
  std::string region;
};

struct AwsCallOptions {
  // Attempts per request, the first included. A request that timed out may have been carried out:
  // a retry then repeats it (harmless for idempotent writes; see the clients' notes).
  int max_attempts = 3;
  std::chrono::milliseconds base_backoff{50};  // doubled per attempt, with full jitter
  std::chrono::milliseconds max_backoff{2000};
  std::size_t max_parallel = 32;  // requests in flight at once in call_all()
};

// One request's result in call_all(): the reply body, or the error.
struct AwsOutcome {
  std::string body;
  std::optional<AwsError> error;
  bool ok() const { return !error; }
};

// Indices [0, count) in consecutive groups of at most `max`: the calls a batch operation makes.
std::vector<std::vector<std::size_t>> plan_batches(std::size_t count, std::size_t max);

// Thread-safe: calls may come from many threads at once; each thread has its own curl handles
// and kept-alive connections.
class AwsJsonClient {
 public:
  AwsJsonClient(AwsService service, std::shared_ptr<CredentialsProvider> credentials, AwsCallOptions options = {});

  // Calls `operation` with the JSON `body`; returns the reply's JSON body, or throws AwsError.
  // `cancel`, when set to true by another thread, abandons the call (AwsError "Cancelled").
  std::string call(std::string_view operation, std::string body, Deadline deadline,
                   const std::atomic<bool>* cancel = nullptr) const;
  // Independent calls of one operation, sent in parallel (up to max_parallel at once, over
  // kept-alive connections); results in the order of `bodies`. Never throws AwsError.
  std::vector<AwsOutcome> call_all(std::string_view operation, std::vector<std::string> bodies,
                                   Deadline deadline) const;

  const AwsService& service() const { return service_; }
  const AwsCallOptions& options() const { return options_; }

 private:
  std::vector<AwsOutcome> run(std::string_view operation, std::vector<std::string> bodies, Deadline deadline,
                              const std::atomic<bool>* cancel) const;

  AwsService service_;
  std::shared_ptr<CredentialsProvider> credentials_;
  AwsCallOptions options_;
};

}  // namespace toggle::cloud
