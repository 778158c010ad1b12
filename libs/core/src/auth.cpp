#include "toggle/core/auth.hpp"

#include <algorithm>
#include <condition_variable>

#include "toggle/core/crypto.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/metrics.hpp"
#include "toggle/core/text.hpp"

namespace toggle {
namespace {

constexpr std::string_view kScopeNames[] = {"admin", "write", "read", "evaluate", "events"};

}  // namespace

Counter& key_validations() {
  static Counter& c = metrics().counter(
      "auth_validations_total", "API keys checked (auth-service: /validate calls; other services: calls to it)");
  return c;
}

std::string_view to_string(Scope scope) { return kScopeNames[static_cast<unsigned>(scope)]; }

std::optional<Scope> parse_scope(std::string_view text) {
  for (unsigned i = 0; i < std::size(kScopeNames); ++i)
    if (kScopeNames[i] == text) return static_cast<Scope>(i);
  return std::nullopt;
}

ScopeSet default_scopes() { return {Scope::read, Scope::write, Scope::evaluate}; }
ScopeSet service_scopes() { return {Scope::read, Scope::write, Scope::evaluate, Scope::events}; }

std::string scopes_json(ScopeSet scopes) {
  json list = json::array();
  for (unsigned i = 0; i < std::size(kScopeNames); ++i)
    if (scopes.has(static_cast<Scope>(i))) list.push_back(kScopeNames[i]);
  return list.dump();
}

std::string_view api_key_from_header(std::string_view h) {
  auto trim = [](std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return v;
  };
  h = trim(h);
  // "Bearer" alone or followed by spaces carries no key.
  if (h.size() >= 6 && iequals(h.substr(0, 6), "bearer") && (h.size() == 6 || h[6] == ' ')) h = trim(h.substr(6));
  return h;
}

std::string_view api_key_of(const Request& req) {
  std::string_view key = api_key_from_header(req.header("Authorization"));
  return key.empty() ? api_key_from_header(req.header("X-API-Key")) : key;
}

KeyValidator::KeyValidator(std::string url, std::string service_key, std::chrono::milliseconds valid_ttl,
                           std::chrono::milliseconds invalid_ttl, std::size_t capacity)
    : url_(std::move(url)),
      service_key_(std::move(service_key)),
      valid_ttl_(valid_ttl),
      invalid_ttl_(invalid_ttl),
      cache_(capacity) {}

struct KeyValidator::Flight {
  std::condition_variable done_cv;
  bool done = false;
  Check check;
};

std::optional<KeyValidator::Check> KeyValidator::cached(std::string_view key) {
  std::lock_guard lock(mutex_);
  const Entry* entry = cache_.find(key);
  if (!entry || entry->expires <= std::chrono::steady_clock::now()) return std::nullopt;
  return entry->check;
}

KeyValidator::Check KeyValidator::validate(std::string_view key) {
  if (key.empty()) return {Verdict::invalid, {}};
  if (auto hit = cached(key)) return *hit;
  std::string name(key);
  std::shared_ptr<Flight> flight;
  {
    std::unique_lock lock(mutex_);
    if (auto it = flights_.find(name); it != flights_.end()) {
      auto joined = it->second;  // someone is asking already: wait for their answer
      joined->done_cv.wait(lock, [&] { return joined->done; });
      return joined->check;
    }
    flight = flights_[name] = std::make_shared<Flight>();
  }
  Check check = ask_auth_service(key);
  std::lock_guard lock(mutex_);
  flight->check = check;
  flight->done = true;
  flights_.erase(name);
  flight->done_cv.notify_all();
  return check;
}

KeyValidator::Check KeyValidator::ask_auth_service(std::string_view key) {
  key_validations().inc();
  auto res = client_.send({"GET",
                           url_ + "/validate",
                           {{"Authorization", "Bearer " + std::string(key)}},
                           "",
                           std::chrono::milliseconds(2000)});
  Check check;
  if (res.status == 200) {
    check.verdict = Verdict::valid;
    json body = json::parse(res.body, nullptr, false);
    if (body.is_object() && body.contains("scopes") && body["scopes"].is_array()) {
      for (const auto& s : body["scopes"])
        if (auto scope = s.is_string() ? parse_scope(s.get<std::string>()) : std::nullopt) check.scopes.add(*scope);
    } else {
      check.scopes = default_scopes();  // an auth-service from before scopes
    }
  } else if (res.status == 401 || res.status == 403) {
    check.verdict = Verdict::invalid;
  } else {
    log::warn("auth-service unavailable", {{"status", res.status}, {"error", res.error}});
    // Not cached: ask again next time. The service key still works meanwhile (see auth.hpp).
    if (!service_key_.empty() && crypto::constant_time_equal(key, service_key_))
      return {Verdict::valid, service_scopes()};
    return {Verdict::unavailable, {}};
  }
  std::lock_guard lock(mutex_);
  remember(std::string(key), check);
  return check;
}

void KeyValidator::remember(const std::string& key, const Check& check) {
  auto expires = std::chrono::steady_clock::now() + (check.verdict == Verdict::valid ? valid_ttl_ : invalid_ttl_);
  cache_.put(key, Entry{check, expires});
}

void throw_missing_key() {
  throw Error(ErrorKind::unauthenticated, "missing_key",
              "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'");
}

void require_scope(const KeyValidator::Check& check, Scope scope) {
  switch (check.verdict) {
    case KeyValidator::Verdict::invalid:
      throw Error(ErrorKind::unauthenticated, "invalid_key", "invalid or revoked API key");
    case KeyValidator::Verdict::unavailable:
      throw Error::unavailable("auth_unavailable", "auth-service unavailable: cannot check the API key");
    case KeyValidator::Verdict::valid:
      if (!check.scopes.has(scope))
        throw Error(ErrorKind::forbidden, "missing_scope",
                    "this API key lacks the '" + std::string(to_string(scope)) + "' scope");
  }
}

void KeyValidator::require(const Request& req, Scope scope) {
  std::string_view key = api_key_of(req);
  if (key.empty()) throw_missing_key();
  require_scope(validate(key), scope);
}

RouteOptions key_checked_before_body(KeyValidator& validator, Scope scope, RouteOptions options) {
  options.before_body = [&validator, scope](const Request& req) -> Reply {
    validator.require(req, scope);
    return proceed();
  };
  return options;
}

Handler with_api_key(KeyValidator& validator, Scope scope, Handler handler) {
  return [&validator, scope, handler = std::move(handler)](Request& req) -> Reply {
    validator.require(req, scope);
    return handler(req);
  };
}

}  // namespace toggle
