// Internal: HTTP exchanges over libcurl for the AWS clients, many at once through one curl multi
// handle per thread (connections kept alive between calls), optionally signed with libcurl's own
// AWS Signature Version 4.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "toggle/cloud/aws_error.hpp"

namespace toggle::cloud::detail {

struct SigV4 {
  std::string region, service;        // the credential scope
  std::string access_key_id, secret;  // never logged
};

struct HttpExchange {
  // request
  std::string url;
  std::vector<std::string> headers;  // "Name: value"; never an empty "Name:" (curl would sign it)
  std::string body;                  // POSTed
  const SigV4* sign = nullptr;       // null: unsigned
  // response
  bool transport_failed = false;  // no HTTP reply: see error / timed_out / cancelled
  bool timed_out = false;
  bool cancelled = false;
  std::string error;
  int status = 0;
  std::string response_body;
  std::vector<std::pair<std::string, std::string>> response_headers;  // names in lower case

  std::string_view header(std::string_view lower_name) const;
};

// Performs the exchanges, at most `max_parallel` at once, each ending by `deadline`; `cancel`
// (checked every 100 ms) abandons those still running.
void perform(std::vector<HttpExchange*>& exchanges, Deadline deadline, std::size_t max_parallel,
             const std::atomic<bool>* cancel = nullptr);

// application/x-www-form-urlencoded / URI encoding of one component (RFC 3986 unreserved kept).
std::string url_encode(std::string_view s);

}  // namespace toggle::cloud::detail
