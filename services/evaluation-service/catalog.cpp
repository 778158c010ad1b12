#include "catalog.hpp"

#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle::evaluation {
namespace {

// A rule we cannot read must not switch a flag on for everyone: it becomes "0 %" (nobody).
rules::Rule read_rule(const json& j, const std::string& flag) {
  std::string error;
  if (auto rule = rules::parse_rule(j, error)) return *rule;
  log::error("unreadable targeting rule: flag is off for everyone until it is fixed",
             {{"flag", flag}, {"error", error}});
  return rules::percentage_rule(0);
}

}  // namespace

Catalog::Catalog() : current_(std::make_shared<const Snapshot>()) {
  static std::atomic<std::uint64_t> next_id{1};
  id_ = next_id++;
}

void Catalog::apply_flag_changes(const json& reply) {
  std::map<std::string, bool, std::less<>> changed;
  for (const auto& f : reply.at("flags")) changed[f.at("name").get<std::string>()] = f.at("is_enabled").get<bool>();
  std::lock_guard lock(mutex_);
  if (reply.at("full").get<bool>()) {
    flags_ = std::move(changed);
    flags_synced_ = true;
  } else {
    for (auto& [name, enabled] : changed) flags_[name] = enabled;
  }
  for (const auto& name : reply.at("deleted")) flags_.erase(name.get<std::string>());
  publish();
}

void Catalog::apply_rule_changes(const json& reply) {
  std::map<std::string, RuleRecord, std::less<>> changed;
  for (const auto& r : reply.at("rules")) {
    auto name = r.at("flag_name").get<std::string>();
    changed.insert_or_assign(name, RuleRecord{r.at("is_enabled").get<bool>(), read_rule(r.at("rules"), name)});
  }
  std::lock_guard lock(mutex_);
  if (reply.at("full").get<bool>()) {
    rules_ = std::move(changed);
    rules_synced_ = true;
  } else {
    for (auto& [name, record] : changed) rules_.insert_or_assign(name, std::move(record));
  }
  for (const auto& name : reply.at("deleted")) rules_.erase(name.get<std::string>());
  publish();
}

void Catalog::publish() {
  auto next = std::make_shared<Snapshot>();
  next->reserve(flags_.size());
  for (const auto& [name, enabled] : flags_) {
    rules::FlagDefinition def{name, enabled, std::nullopt};
    if (auto r = rules_.find(name); r != rules_.end() && r->second.enabled) def.rule = r->second.rule;
    next->emplace(name, std::move(def));
  }
  current_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
  complete_.store(flags_synced_ && rules_synced_, std::memory_order_release);
}

const Snapshot* Catalog::snapshot() const {
  // Each thread keeps its own reference to the current snapshot and refreshes it only when the
  // generation moves, so the hot path costs one atomic load and touches no shared cache line.
  struct Cached {
    std::uint64_t owner = 0;  // Catalog::id_: an address could be reused by a later Catalog
    std::uint64_t generation = 0;
    std::shared_ptr<const Snapshot> snapshot;
  };
  thread_local Cached cached;
  std::uint64_t generation = generation_.load(std::memory_order_acquire);
  if (cached.owner != id_ || cached.generation != generation) {
    std::lock_guard lock(mutex_);
    cached = {id_, generation_.load(std::memory_order_relaxed), current_};
  }
  return cached.snapshot.get();
}

json Catalog::export_flags() const {
  std::lock_guard lock(mutex_);
  json list = json::array();
  for (const auto& [name, enabled] : flags_) list.push_back({{"name", name}, {"is_enabled", enabled}});
  return list;
}

json Catalog::export_rules() const {
  std::lock_guard lock(mutex_);
  json list = json::array();
  for (const auto& [name, r] : rules_)
    list.push_back({{"flag_name", name}, {"is_enabled", r.enabled}, {"rules", rules::to_json(r.rule)}});
  return list;
}

std::size_t Catalog::size() const {
  std::lock_guard lock(mutex_);
  return current_->size();
}

}  // namespace toggle::evaluation
