// The HTTP client for service-to-service calls (libcurl). Blocking, with a deadline on every call;
// connections are kept alive per calling thread. `send_all` runs several requests in parallel.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace toggle {

struct ClientRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent as application/json when non-empty
  std::chrono::milliseconds timeout{2000};
  const std::atomic<bool>* cancel = nullptr;  // set to true to abandon the call (checked ~1/s)
};

struct ClientResponse {
  int status = 0;  // 0: no HTTP reply (see `error`)
  std::string body;
  std::string content_type;
  std::string error;  // transport error: refused, timed out, ...
  bool timed_out = false;
};

class HttpClient {
 public:
  ClientResponse send(const ClientRequest& request) const;
  std::vector<ClientResponse> send_all(const std::vector<ClientRequest>& requests) const;
};

}  // namespace toggle
