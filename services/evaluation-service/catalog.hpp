// The evaluator's view of every flag and rule: what the change feeds of flag-service and
// targeting-service last said, merged into an immutable Snapshot that the hot path reads without
// a lock. Each change builds a new Snapshot and publishes it atomically (copy-on-write).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <unordered_map>

#include "toggle/rules/rules.hpp"

namespace toggle::evaluation {

using Snapshot = std::unordered_map<std::string, rules::FlagDefinition, rules::StringHash, std::equal_to<>>;

class Catalog {
 public:
  Catalog();
  // Apply a reply of flag-service's or targeting-service's GET /changes. Throws std::exception
  // (and changes nothing) if it is malformed.
  void apply_flag_changes(const nlohmann::json& reply);
  void apply_rule_changes(const nlohmann::json& reply);

  // The current snapshot, for the calling thread. Lock-free after the first call on a thread;
  // the pointer stays valid until this thread's next call.
  const Snapshot* snapshot() const;
  // True once both feeds have delivered a full set: only then does "absent" mean "no such flag"
  // or "no rule" (before that, absent means "not known yet").
  bool complete() const { return complete_.load(std::memory_order_acquire); }
  std::size_t size() const;

  // The flags / rules as last applied, in the shape of the feeds' replies ("flags": [{name,
  // is_enabled}], "rules": [{flag_name, is_enabled, rules}]), to share them with other replicas.
  nlohmann::json export_flags() const;
  nlohmann::json export_rules() const;

 private:
  struct RuleRecord {
    bool enabled;
    rules::Rule rule;
  };
  void publish();  // rebuild the snapshot from flags_ and rules_ (mutex_ held)

  std::uint64_t id_;  // unique per process, for the per-thread snapshot cache
  mutable std::mutex mutex_;
  std::map<std::string, bool, std::less<>> flags_;  // name -> is_enabled
  std::map<std::string, RuleRecord, std::less<>> rules_;
  bool flags_synced_ = false, rules_synced_ = false;
  std::shared_ptr<const Snapshot> current_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> complete_{false};
};

}  // namespace toggle::evaluation
