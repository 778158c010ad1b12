// The evaluator's view of every flag, rule and segment: what the change feeds of flag-service and
// targeting-service (rules and segments) last said, merged into an immutable Snapshot that the hot
// path reads without a lock. Each change builds a new Snapshot and publishes it atomically
// (copy-on-write).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "toggle/rules/resolve.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle::evaluation {

// A flag record as flag-service sends it (feed item or GET /flags/{name}): is_enabled and, for
// flags with a variant part, "type", "variants", "default_variant", "off_variant".
struct FlagRecord {
  bool enabled = false;
  rules::FlagVariants variants;  // the implicit boolean variants when the record has no variant part
  bool has_variant_part = false;
  std::string problem;  // the variant part could not be read (then `raw_variant_part` keeps it)
  std::shared_ptr<const nlohmann::json> raw_variant_part;  // as received, to share it unchanged
};
// Throws std::exception when is_enabled is missing (a malformed reply); an unreadable variant
// part is not an exception but a `problem` (logged): the flag then answers PARSE_ERROR.
FlagRecord read_flag_record(const nlohmann::json& record, const std::string& flag);

// A rule record as targeting-service sends it: is_enabled and "rules", the legacy rule object or
// an array of rules.
struct RuleRecord {
  bool enabled = false;
  std::optional<rules::Targeting> targeting;  // absent when unreadable
  std::string problem;                        // why it could not be read
  std::shared_ptr<const nlohmann::json> raw;  // the "rules" as received, when unreadable
};
RuleRecord read_rule_record(const nlohmann::json& record, const std::string& flag);

// One flag, ready to evaluate.
struct FlagEntry {
  rules::Flag flag;
  // nullopt when the flag has no rule, or its rule record is disabled.
  std::optional<rules::Targeting> targeting;
  // Set when the flag cannot be evaluated as stored: PARSE_ERROR (its variant part or its rules
  // could not be read), or GENERAL (its rules could not be fetched). /evaluate answers false,
  // OFREP the error: a rule we cannot read never switches a flag on.
  rules::ErrorCode error = rules::ErrorCode::none;
  std::string error_details;
  // /evaluate's fast path, for today's flags (implicit boolean variants, the legacy rule or none):
  // rules::evaluate() on this gives resolve()'s result without building a Context. An unreadable
  // legacy rule is the 0 % rule here, as before.
  std::optional<rules::FlagDefinition> legacy;

  const rules::Targeting* targeting_or_null() const { return targeting ? &*targeting : nullptr; }
};
// `rule` nullptr: no rule record.
FlagEntry make_entry(const std::string& name, const FlagRecord& flag, const RuleRecord* rule);

struct Snapshot {
  Snapshot() = default;
  Snapshot(const Snapshot&) = delete;  // by_name points into flags
  Snapshot& operator=(const Snapshot&) = delete;

  std::unordered_map<std::string, FlagEntry, rules::StringHash, std::equal_to<>> flags;
  std::vector<const FlagEntry*> by_name;  // the same entries sorted by name (OFREP's bulk answer)
  rules::SegmentSet segments;

  const FlagEntry* find(std::string_view name) const {
    auto it = flags.find(name);
    return it == flags.end() ? nullptr : &it->second;
  }
  std::size_t size() const { return flags.size(); }
};

// /evaluate's answer for `user_id`: Resolution::result, computed through the fast path when the
// entry has one (then `resolved` is false: no variant or reason is known). An entry that cannot
// be evaluated (FlagEntry::error) answers false with reason ERROR.
struct UserAnswer {
  bool result = false;
  bool resolved = false;
  rules::Resolution resolution;  // when resolved
};
UserAnswer answer_for_user(const FlagEntry& entry, const rules::SegmentSet& segments, std::string_view user_id);

class Catalog {
 public:
  Catalog();
  // Apply a reply of flag-service's GET /changes, targeting-service's GET /changes (rules) or
  // GET /segments/changes. Throws std::exception (and changes nothing) if it is malformed.
  void apply_flag_changes(const nlohmann::json& reply);
  void apply_rule_changes(const nlohmann::json& reply);
  void apply_segment_changes(const nlohmann::json& reply);

  // The current snapshot, for the calling thread. Lock-free after the first call on a thread;
  // the pointer stays valid until this thread's next call.
  const Snapshot* snapshot() const;
  // The current snapshot, taking the lock: for code off the hot path (and tests).
  std::shared_ptr<const Snapshot> current() const;
  // True once the three feeds have delivered a full set: only then does "absent" mean "no such
  // flag", "no rule" or "no such segment" (before that, absent means "not known yet").
  bool complete() const { return complete_.load(std::memory_order_acquire); }
  std::size_t size() const;

  // The flags / rules / segments as last applied, in the shape of the feeds' items, to share them
  // with other replicas.
  nlohmann::json export_flags() const;
  nlohmann::json export_rules() const;
  nlohmann::json export_segments() const;

 private:
  void publish();  // rebuild the snapshot (mutex_ held)

  std::uint64_t id_;  // unique per process, for the per-thread snapshot cache
  mutable std::mutex mutex_;
  std::map<std::string, FlagRecord, std::less<>> flags_;
  std::map<std::string, RuleRecord, std::less<>> rules_;
  std::map<std::string, rules::Segment, std::less<>> segments_;
  bool flags_synced_ = false, rules_synced_ = false, segments_synced_ = false;
  std::shared_ptr<const Snapshot> current_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> complete_{false};
};

}  // namespace toggle::evaluation
