// API keys and what they may do. Services behind auth-service check a request's key with
// auth-service's GET /validate, cached briefly, so a burst of requests costs one round trip and a
// revoked key is refused within the cache lifetime.
//
// Scopes say what a key may do: `admin` (manage keys), `write` (flags, rules), `read` (flags,
// rules, analytics), `evaluate` (evaluation, OFREP), `events` (POST /events). A key created
// without scopes (as the seed's flow does) has read, write and evaluate: today's behaviour.
//
// When auth-service cannot be reached, the service key (SERVICE_API_KEY, the key the services use
// among themselves) is still accepted, compared locally in constant time, so that
// service-to-service calls survive an auth outage; every other key gets 503. While auth-service
// answers, its word is final: a revoked service key is refused like any other.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "toggle/core/client.hpp"
#include "toggle/core/http.hpp"
#include "toggle/core/lru.hpp"
#include "toggle/core/router.hpp"

namespace toggle {

class Counter;
// auth_validations_total: API keys checked -- by auth-service, its /validate calls; by the other
// services, their calls to auth-service (cache misses). Listed by every service, also at 0.
Counter& key_validations();

enum class Scope : std::uint8_t { admin, write, read, evaluate, events };
std::string_view to_string(Scope scope);
std::optional<Scope> parse_scope(std::string_view text);

class ScopeSet {
 public:
  ScopeSet() = default;
  ScopeSet(std::initializer_list<Scope> scopes) {
    for (Scope s : scopes) add(s);
  }
  void add(Scope s) { bits_ |= 1u << static_cast<unsigned>(s); }
  bool has(Scope s) const { return bits_ & (1u << static_cast<unsigned>(s)); }
  bool empty() const { return bits_ == 0; }
  bool operator==(const ScopeSet&) const = default;

 private:
  unsigned bits_ = 0;
};
// What a key created without scopes may do.
ScopeSet default_scopes();
// What the service key may do.
ScopeSet service_scopes();
std::string scopes_json(ScopeSet scopes);  // ["read","write"]

// The key of a request: `Authorization: Bearer <key>` (any case), a bare `Authorization: <key>`
// (as the original), or `X-API-Key: <key>` (as OpenFeature's providers send it). Empty if none.
std::string_view api_key_of(const Request& req);
// The key in an Authorization header value.
std::string_view api_key_from_header(std::string_view authorization);

class KeyValidator {
 public:
  enum class Verdict { valid, invalid, unavailable };
  struct Check {
    Verdict verdict = Verdict::unavailable;
    ScopeSet scopes;  // when valid
  };

  // `capacity`: keys remembered at most; the least recently used goes first, so a flood of random
  // keys cannot push out the keys in use for longer than one round trip each.
  KeyValidator(std::string auth_service_url, std::string service_key,
               std::chrono::milliseconds valid_ttl = std::chrono::seconds(3),
               std::chrono::milliseconds invalid_ttl = std::chrono::seconds(1), std::size_t capacity = 10000);

  // Cached answer only; nullopt when auth-service must be asked (a blocking call).
  std::optional<Check> cached(std::string_view key);
  // Cached answer or one call to auth-service (blocking, bounded by a 2 s timeout). Concurrent
  // checks of the same key share one call.
  Check validate(std::string_view key);
  // For handlers: throws Error unless the request's key is valid and has `scope`.
  void require(const Request& req, Scope scope);

 private:
  struct Entry {
    Check check;
    std::chrono::steady_clock::time_point expires;
  };
  struct Flight;  // a call to auth-service under way, which later checks of the key wait for
  Check ask_auth_service(std::string_view key);
  void remember(const std::string& key, const Check& check);  // mutex_ held

  std::string url_, service_key_;
  std::chrono::milliseconds valid_ttl_, invalid_ttl_;
  HttpClient client_;
  std::mutex mutex_;
  LruMap<Entry> cache_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

// Throws unless `check` is a valid key with `scope`: 401 invalid_key, 403 missing_scope,
// 503 auth_unavailable.
void require_scope(const KeyValidator::Check& check, Scope scope);
// 401 missing_key.
[[noreturn]] void throw_missing_key();

// `handler`, answering 401/403/503 first unless the request carries a valid key with `scope`.
Handler with_api_key(KeyValidator& validator, Scope scope, Handler handler);
// `options` with the same key check run on the headers, before a body is read
// (RouteOptions::before_body): for routes that take a body.
RouteOptions key_checked_before_body(KeyValidator& validator, Scope scope, RouteOptions options);

}  // namespace toggle
