#include "catalog.hpp"

#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle::evaluation {

FlagRecord read_flag_record(const json& record, const std::string& flag) {
  FlagRecord out;
  out.enabled = record.at("is_enabled").get<bool>();
  auto part = rules::variant_part_of(record);
  if (!part) return out;
  out.has_variant_part = true;
  if (auto variants = rules::parse_flag_variants(*part, out.problem)) {
    out.variants = std::move(*variants);
  } else {
    log::error("unreadable flag variants: the flag answers PARSE_ERROR (and false) until it is fixed",
               {{"flag", flag}, {"error", out.problem}});
    out.raw_variant_part = std::make_shared<const json>(std::move(*part));
  }
  return out;
}

RuleRecord read_rule_record(const json& record, const std::string& flag) {
  RuleRecord out;
  out.enabled = record.at("is_enabled").get<bool>();
  const json& rules = record.at("rules");
  if (auto targeting = rules::parse_targeting(rules, out.problem)) {
    out.targeting = std::move(*targeting);
  } else {
    // A rule we cannot read must not switch a flag on for everyone: see make_entry().
    log::error("unreadable targeting rule: flag is off for everyone until it is fixed",
               {{"flag", flag}, {"error", out.problem}});
    out.raw = std::make_shared<const json>(rules);
  }
  return out;
}

FlagEntry make_entry(const std::string& name, const FlagRecord& flag, const RuleRecord* rule) {
  FlagEntry e;
  e.flag = {name, flag.enabled, flag.variants};
  bool targeting_unreadable = false;
  if (rule && rule->enabled) {
    if (rule->targeting) {
      e.targeting = rule->targeting;
    } else {
      targeting_unreadable = true;
      e.error = rules::ErrorCode::parse_error;
      e.error_details = "the flag's targeting rules could not be read: " + rule->problem;
    }
  }
  if (!flag.problem.empty()) {
    e.error = rules::ErrorCode::parse_error;
    e.error_details = "the flag's variants could not be read: " + flag.problem;
    return e;
  }
  // Today's flags keep today's evaluation. An unreadable legacy rule (anything but an array) is
  // the 0 % rule, as it always was; an unreadable array of rules has no legacy meaning (false).
  bool legacy_targeting = !e.targeting || e.targeting->kind() == rules::Targeting::Kind::legacy;
  if (!flag.has_variant_part && legacy_targeting && !(targeting_unreadable && rule->raw->is_array())) {
    rules::FlagDefinition def{name, flag.enabled, std::nullopt};
    if (targeting_unreadable)
      def.rule = rules::percentage_rule(0);
    else if (e.targeting)
      def.rule = *e.targeting->legacy_rule();
    e.legacy = std::move(def);
  }
  return e;
}

UserAnswer answer_for_user(const FlagEntry& entry, const rules::SegmentSet& segments, std::string_view user_id) {
  UserAnswer a;
  if (entry.legacy) {
    a.result = rules::evaluate(*entry.legacy, user_id);
  } else if (entry.error != rules::ErrorCode::none) {
    a.resolved = true;  // an ERROR answer: false, no variant
    a.resolution.error = entry.error;
  } else {
    rules::Context context;
    context.set(std::string(rules::kTargetingKey), rules::Attribute::of_string(std::string(user_id)));
    a.resolution = rules::resolve(entry.flag, entry.targeting_or_null(), segments, context);
    a.result = a.resolution.result;
    a.resolved = true;
  }
  return a;
}

Catalog::Catalog() : current_(std::make_shared<const Snapshot>()) {
  static std::atomic<std::uint64_t> next_id{1};
  id_ = next_id++;
}

namespace {

// Applies a feed reply's items to `records`: a full reply replaces them, a delta merges; then
// its "deleted" names go. `read` makes a record from an item (and may throw: nothing changes).
// Returns the lock it took, so that the caller publishes the change before anyone else's.
template <class Record, class Read>
[[nodiscard]] std::unique_lock<std::mutex> apply_reply(const json& reply, const char* items, const char* key,
                                                       std::map<std::string, Record, std::less<>>& records,
                                                       bool& synced, std::mutex& mutex, Read read) {
  std::map<std::string, Record, std::less<>> changed;
  std::vector<std::string> unreadable, deleted;
  for (const auto& item : reply.at(items)) {
    auto name = item.at(key).template get<std::string>();
    std::optional<Record> record = read(item, name);
    if (record)
      changed.insert_or_assign(std::move(name), std::move(*record));
    else
      unreadable.push_back(std::move(name));  // its previous version goes too
  }
  bool full = reply.at("full").get<bool>();
  for (const auto& name : reply.at("deleted")) deleted.push_back(name.get<std::string>());
  std::unique_lock lock(mutex);
  if (full) {
    records = std::move(changed);
    synced = true;
  } else {
    for (auto& [name, record] : changed) records.insert_or_assign(name, std::move(record));
  }
  for (const auto& name : deleted) records.erase(name);
  for (const auto& name : unreadable) records.erase(name);
  return lock;
}

}  // namespace

void Catalog::apply_flag_changes(const json& reply) {
  auto lock = apply_reply(
      reply, "flags", "name", flags_, flags_synced_, mutex_,
      [](const json& item, const std::string& name) { return std::optional(read_flag_record(item, name)); });
  publish();
}

void Catalog::apply_rule_changes(const json& reply) {
  auto lock = apply_reply(
      reply, "rules", "flag_name", rules_, rules_synced_, mutex_,
      [](const json& item, const std::string& name) { return std::optional(read_rule_record(item, name)); });
  publish();
}

void Catalog::apply_segment_changes(const json& reply) {
  auto lock = apply_reply(
      reply, "segments", "name", segments_, segments_synced_, mutex_,
      [](const json& item, const std::string& name) -> std::optional<rules::Segment> {
        // The segment itself; the record's other keys (created_at, ...) are not the model's.
        json definition = {{"name", name}};
        if (auto c = item.find("conditions"); c != item.end()) definition["conditions"] = *c;
        std::string error;
        auto segment = rules::parse_segment(definition, error);
        // Left out: in_segment on it does not hold, so nobody gets in through it.
        if (!segment)
          log::error("unreadable segment: nobody is in it until it is fixed", {{"segment", name}, {"error", error}});
        return segment;
      });
  publish();
}

void Catalog::publish() {
  auto next = std::make_shared<Snapshot>();
  next->flags.reserve(flags_.size());
  for (const auto& [name, flag] : flags_) {
    auto r = rules_.find(name);
    next->flags.emplace(name, make_entry(name, flag, r == rules_.end() ? nullptr : &r->second));
  }
  next->by_name.reserve(flags_.size());
  for (const auto& [name, _] : flags_) next->by_name.push_back(&next->flags.find(name)->second);
  std::vector<rules::Segment> segments;
  segments.reserve(segments_.size());
  for (const auto& [_, segment] : segments_) segments.push_back(segment);
  next->segments = rules::SegmentSet(std::move(segments));
  current_ = std::move(next);
  generation_.fetch_add(1, std::memory_order_release);
  complete_.store(flags_synced_ && rules_synced_ && segments_synced_, std::memory_order_release);
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

std::shared_ptr<const Snapshot> Catalog::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

json Catalog::export_flags() const {
  std::lock_guard lock(mutex_);
  json list = json::array();
  for (const auto& [name, f] : flags_) {
    json item = {{"name", name}, {"is_enabled", f.enabled}};
    if (f.raw_variant_part)
      item.update(*f.raw_variant_part);
    else if (f.has_variant_part)
      item.update(rules::to_json(f.variants));
    list.push_back(std::move(item));
  }
  return list;
}

json Catalog::export_rules() const {
  std::lock_guard lock(mutex_);
  json list = json::array();
  for (const auto& [name, r] : rules_)
    list.push_back(
        {{"flag_name", name}, {"is_enabled", r.enabled}, {"rules", r.raw ? *r.raw : rules::to_json(*r.targeting)}});
  return list;
}

json Catalog::export_segments() const {
  std::lock_guard lock(mutex_);
  json list = json::array();
  for (const auto& [_, segment] : segments_) list.push_back(rules::to_json(segment));
  return list;
}

std::size_t Catalog::size() const {
  std::lock_guard lock(mutex_);
  return current_->size();
}

}  // namespace toggle::evaluation
