#include "toggle/core/auth.hpp"

#include "toggle/core/log.hpp"
#include "toggle/core/metrics.hpp"
#include "toggle/core/text.hpp"

namespace toggle {

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

KeyValidator::KeyValidator(std::string url, std::chrono::milliseconds valid_ttl, std::chrono::milliseconds invalid_ttl)
    : url_(std::move(url)), valid_ttl_(valid_ttl), invalid_ttl_(invalid_ttl) {}

std::optional<KeyValidator::Verdict> KeyValidator::cached(std::string_view key) {
  std::lock_guard lock(mutex_);
  auto it = cache_.find(std::string(key));
  if (it == cache_.end() || it->second.expires <= std::chrono::steady_clock::now()) return std::nullopt;
  return it->second.verdict;
}

KeyValidator::Verdict KeyValidator::validate(std::string_view key) {
  if (key.empty()) return Verdict::invalid;
  if (auto hit = cached(key)) return *hit;
  static Counter& calls = metrics().counter("auth_validations_total", "Keys checked with auth-service");
  calls.inc();
  auto res = client_.send({"GET",
                           url_ + "/validate",
                           {{"Authorization", "Bearer " + std::string(key)}},
                           "",
                           std::chrono::milliseconds(2000)});
  Verdict verdict;
  if (res.status == 200)
    verdict = Verdict::valid;
  else if (res.status == 401 || res.status == 403)
    verdict = Verdict::invalid;
  else {
    log::warn("auth-service unavailable", {{"status", res.status}, {"error", res.error}});
    return Verdict::unavailable;  // not cached: ask again next time
  }
  std::lock_guard lock(mutex_);
  if (cache_.size() > 10000) cache_.clear();  // bounded: a flood of random keys cannot grow it
  cache_[std::string(key)] = {
      verdict, std::chrono::steady_clock::now() + (verdict == Verdict::valid ? valid_ttl_ : invalid_ttl_)};
  return verdict;
}

void throw_unless_valid(KeyValidator::Verdict verdict) {
  if (verdict == KeyValidator::Verdict::invalid) throw HttpError(401, "invalid or revoked API key");
  if (verdict == KeyValidator::Verdict::unavailable)
    throw HttpError(503, "auth-service unavailable: cannot check the API key");
}

void KeyValidator::require(const Request& req) {
  std::string_view key = api_key_from_header(req.header("Authorization"));
  if (key.empty()) throw HttpError(401, "missing API key: send 'Authorization: Bearer <key>'");
  throw_unless_valid(validate(key));
}

Handler with_api_key(KeyValidator& validator, Handler handler) {
  return [&validator, handler = std::move(handler)](Request& req) -> Reply {
    validator.require(req);
    return handler(req);
  };
}

}  // namespace toggle
