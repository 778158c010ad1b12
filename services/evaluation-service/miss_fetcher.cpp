#include "miss_fetcher.hpp"

#include <algorithm>

#include "toggle/core/client.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/metrics.hpp"
#include "toggle/core/rate_limited_log.hpp"

namespace toggle::evaluation {
namespace {

Counter& refused_lookups() {
  static Counter& c = metrics().counter("flag_lookups_refused_total",
                                        "Requests for a flag not in the snapshot refused (503 too_many_lookups): "
                                        "too many names were waiting for a lookup, or started one this second");
  return c;
}

// A backend that is down fails every lookup: one line per cause every few seconds, not per request.
log::RateLimited& lookup_warnings() {
  static log::RateLimited limited;
  return limited;
}

}  // namespace

std::string_view Lookup::error_code() const {
  switch (status) {
    case Status::refused:
      return "too_many_lookups";
    case Status::timed_out:
      return "flag_lookup_timeout";
    default:
      return "flag_unavailable";
  }
}

std::string Lookup::error_message(const std::string& flag_name) const {
  std::string text = "flag '" + flag_name + "' is not known here yet";
  switch (status) {
    case Status::refused:
      return text + ", and too many unknown flags are being looked up already (MISS_FETCH_QUEUE, MISS_FETCH_RATE): "
                    "retry later";
    case Status::timed_out:
      return text + ", and flag-service and targeting-service did not answer in time: retry later";
    default:
      return text + " and cannot be fetched: " + problem;
  }
}

MissFetcher::MissFetcher(FetchOptions options)
    : opt_(std::move(options)),
      pool_(opt_.threads),
      tokens_(opt_.rate),
      recent_(opt_.capacity),
      watchdog_([this] { watch(); }) {
  refused_lookups();
}

MissFetcher::~MissFetcher() { stop(); }

void MissFetcher::stop() {
  pool_.join();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

const Lookup* MissFetcher::remembered(std::string_view flag_name) {
  const Remembered* hit = recent_.find(flag_name);
  return hit && hit->until >= std::chrono::steady_clock::now() ? &hit->lookup : nullptr;
}

std::optional<Lookup> MissFetcher::recent(std::string_view flag_name) {
  std::lock_guard lock(mutex_);
  if (const Lookup* lookup = remembered(flag_name)) return *lookup;
  return std::nullopt;
}

std::optional<Lookup> MissFetcher::answer_now(std::string_view flag_name) {
  std::unique_lock lock(mutex_);
  if (const Lookup* lookup = remembered(flag_name)) return *lookup;
  if (in_flight_.count(std::string(flag_name)) || !refuses_new_lookup()) return std::nullopt;
  lock.unlock();
  refused_lookups().inc();
  return Lookup{.status = Lookup::Status::refused};
}

void MissFetcher::fetch(const std::string& flag_name, Callback done) {
  std::unique_lock lock(mutex_);
  auto it = in_flight_.find(flag_name);
  bool new_name = it == in_flight_.end();  // else: joins the lookup under way, at no cost
  if (new_name && !take_token()) {
    lock.unlock();
    refused_lookups().inc();
    done(Lookup{.status = Lookup::Status::refused});
    return;
  }
  if (new_name) it = in_flight_.emplace(flag_name, std::vector<Waiter>{}).first;
  std::uint64_t id = next_id_++;
  it->second.push_back({id, std::move(done)});
  bool watchdog_idle = deadlines_.empty();
  deadlines_.push_back({std::chrono::steady_clock::now() + opt_.timeout + opt_.margin, id, flag_name});
  lock.unlock();
  if (watchdog_idle) wake_.notify_one();
  if (!new_name) return;
  pool_.post([this, flag_name] {
    Lookup result = lookup(flag_name);
    std::vector<Waiter> waiting;
    {
      std::lock_guard lock(mutex_);
      auto node = in_flight_.extract(flag_name);
      waiting = std::move(node.mapped());
      // Remembered even when every request has stopped waiting: the next one is answered at once.
      if (!result.degraded())
        recent_.put(flag_name, Remembered{result, std::chrono::steady_clock::now() + opt_.remember});
    }
    for (auto& waiter : waiting) waiter.done(result);
  });
}

bool MissFetcher::refuses_new_lookup() {
  auto now = std::chrono::steady_clock::now();
  tokens_ = std::min(opt_.rate, tokens_ + std::chrono::duration<double>(now - refilled_).count() * opt_.rate);
  refilled_ = now;
  return in_flight_.size() >= opt_.threads + opt_.queue || tokens_ < 1;
}

bool MissFetcher::take_token() {
  if (refuses_new_lookup()) return false;
  tokens_ -= 1;
  return true;
}

void MissFetcher::watch() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (deadlines_.empty()) {
      wake_.wait(lock);
      continue;
    }
    if (auto next = deadlines_.front().at; std::chrono::steady_clock::now() < next) {
      wake_.wait_until(lock, next);
      continue;
    }
    Deadline due = std::move(deadlines_.front());
    deadlines_.pop_front();
    auto name = in_flight_.find(due.name);
    if (name == in_flight_.end()) continue;  // answered
    auto& waiters = name->second;
    auto waiter = std::find_if(waiters.begin(), waiters.end(), [&](const Waiter& w) { return w.id == due.id; });
    if (waiter == waiters.end()) continue;  // answered
    // The name stays in in_flight_ until its lookup ends: it still takes its place in the queue.
    Callback done = std::move(waiter->done);
    waiters.erase(waiter);
    lock.unlock();
    done(Lookup{.status = Lookup::Status::timed_out});
    lock.lock();
  }
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
      lookup_warnings().warn("rule unreadable: flag evaluates to false",
                             {{"flag", flag_name}, {"problem", out.problem}});
    }
    out.status = Lookup::Status::found;
  } catch (const std::exception& e) {
    out.status = Lookup::Status::unavailable;
    out.problem = e.what();
    lookup_warnings().warn("flag lookup failed", {{"flag", flag_name}, {"problem", out.problem}});
  }
  return out;
}

}  // namespace toggle::evaluation
