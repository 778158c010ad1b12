// API-key checks for services that sit behind auth-service. Keys are validated by auth-service's
// GET /validate and the answer is cached briefly, so a burst of requests costs one round trip and a
// revoked key is refused within the cache lifetime. auth-service being down is a 503, never a 401.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "toggle/core/client.hpp"
#include "toggle/core/http.hpp"

namespace toggle {

// The key in an Authorization header: "Bearer <key>" (any case) or the bare key, as the original.
std::string_view api_key_from_header(std::string_view authorization);

class KeyValidator {
 public:
  enum class Verdict { valid, invalid, unavailable };

  KeyValidator(std::string auth_service_url, std::chrono::milliseconds valid_ttl = std::chrono::seconds(3),
               std::chrono::milliseconds invalid_ttl = std::chrono::seconds(1));

  // Cached answer only; nullopt when the key must be asked about (a blocking call).
  std::optional<Verdict> cached(std::string_view key);
  // Cached answer or one call to auth-service (blocking, bounded by a 2 s timeout).
  Verdict validate(std::string_view key);

  // For handlers: throws HttpError 401 (missing or invalid key) or 503 (auth-service down).
  void require(const Request& req);

 private:
  struct Entry {
    Verdict verdict;
    std::chrono::steady_clock::time_point expires;
  };
  std::string url_;
  std::chrono::milliseconds valid_ttl_, invalid_ttl_;
  HttpClient client_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> cache_;
};

// Throws HttpError 401/503 for a verdict that is not `valid`.
void throw_unless_valid(KeyValidator::Verdict verdict);

// `handler`, answering 401/503 first unless the request carries a valid API key.
Handler with_api_key(KeyValidator& validator, Handler handler);

}  // namespace toggle
