#include "miss_fetcher.hpp"

#include "toggle/core/client.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle::evaluation {

MissFetcher::MissFetcher(FetchOptions options) : opt_(std::move(options)), pool_(opt_.threads) {}

std::optional<Lookup> MissFetcher::recent(std::string_view flag_name) {
  std::lock_guard lock(mutex_);
  auto it = recent_.find(flag_name);
  if (it == recent_.end() || it->second.until < std::chrono::steady_clock::now()) return std::nullopt;
  return it->second.lookup;
}

void MissFetcher::fetch(const std::string& flag_name, std::function<void(const Lookup&)> done) {
  {
    std::lock_guard lock(mutex_);
    auto& waiting = in_flight_[flag_name];
    waiting.push_back(std::move(done));
    if (waiting.size() > 1) return;  // a lookup is already under way
  }
  pool_.post([this, flag_name] {
    Lookup result = lookup(flag_name);
    std::vector<std::function<void(const Lookup&)>> waiting;
    {
      std::lock_guard lock(mutex_);
      waiting = std::move(in_flight_[flag_name]);
      in_flight_.erase(flag_name);
      if (!result.degraded()) {
        if (recent_.size() > 10000) recent_.clear();  // bounded against floods of unknown names
        recent_.insert_or_assign(flag_name, Remembered{result, std::chrono::steady_clock::now() + opt_.remember});
      }
    }
    for (auto& callback : waiting) callback(result);
  });
}

Lookup MissFetcher::lookup(const std::string& flag_name) const {
  HttpClient client;
  std::vector<std::pair<std::string, std::string>> auth = {{"Authorization", "Bearer " + opt_.api_key}};
  auto replies = client.send_all({{"GET", opt_.flag_service_url + "/flags/" + flag_name, auth, "", opt_.timeout},
                                  {"GET", opt_.targeting_service_url + "/rules/" + flag_name, auth, "", opt_.timeout}});
  const auto& flag = replies[0];
  const auto& rule = replies[1];
  Lookup out;
  if (flag.status == 404) {
    out.status = Lookup::Status::not_found;
    return out;
  }
  try {
    if (flag.status != 200)
      throw std::runtime_error("flag-service: " + (flag.status ? "HTTP " + std::to_string(flag.status) : flag.error));
    json f = json::parse(flag.body);
    out.flag = {flag_name, f.at("is_enabled").get<bool>(), std::nullopt};
    if (rule.status == 200) {
      json r = json::parse(rule.body);
      std::string error;
      auto parsed = rules::parse_rule(r.at("rules"), error);
      if (!parsed) throw std::runtime_error("targeting-service sent an invalid rule: " + error);
      if (r.at("is_enabled").get<bool>()) out.flag.rule = *parsed;
    } else if (rule.status != 404 && out.flag.enabled) {
      // Fail closed: a rule we cannot read must not turn the flag on for everyone.
      out.flag.rule = rules::percentage_rule(0);
      out.problem = "targeting-service: " + (rule.status ? "HTTP " + std::to_string(rule.status) : rule.error);
      log::warn("rule unreadable: flag evaluates to false", {{"flag", flag_name}, {"problem", out.problem}});
    }
    out.status = Lookup::Status::found;
  } catch (const std::exception& e) {
    out.status = Lookup::Status::unavailable;
    out.problem = e.what();
    log::warn("flag lookup failed", {{"flag", flag_name}, {"problem", out.problem}});
  }
  return out;
}

}  // namespace toggle::evaluation
