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
    FlagRecord record = read_flag_record(json::parse(flag.body), flag_name);
    if (rule.status == 200) {
      RuleRecord r = read_rule_record(json::parse(rule.body), flag_name);
      out.flag = make_entry(flag_name, record, &r);
    } else if (rule.status == 404 || !record.enabled) {
      out.flag = make_entry(flag_name, record, nullptr);
    } else {
      // Fail closed: a rule we cannot fetch must not turn the flag on for everyone.
      out.problem = "targeting-service: " + (rule.status ? "HTTP " + std::to_string(rule.status) : rule.error);
      out.flag = make_entry(flag_name, record, nullptr);
      if (out.flag.legacy) out.flag.legacy->rule = rules::percentage_rule(0);
      out.flag.error = rules::ErrorCode::general;
      out.flag.error_details = "the flag's targeting rules cannot be fetched now: " + out.problem;
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
