// targeting-service (port 8003): the targeting of each flag and the segments it may use, each with
// the change feed evaluation follows.
//   POST /rules                             (write) create {flag_name, rules, is_enabled?=true}
//   GET  /rules, /rules/{flag_name}         (read)  list by flag name, read one
//   PUT|PATCH /rules/{flag_name}            (write) partial update {rules?, is_enabled?}
//   DELETE /rules/{flag_name}               (write)
//   GET  /changes?since=&epoch=&wait_ms=    (read)  the rules' change feed (long poll)
//   POST /segments                          (write) create {name, conditions?=[]}
//   GET  /segments, /segments/{name}        (read)  list by name, read one
//   PUT|PATCH /segments/{name}              (write) {conditions}
//   DELETE /segments/{name}                 (write) 409 segment_in_use while a flag's rules use it
//   GET  /segments/changes?since=&epoch=&wait_ms= (read) the segments' change feed (long poll)
// `rules` is the legacy rule {"type":"PERCENTAGE","value":0..100} / {"type":"USER_LIST","values":
// [user ids]}, or an array of rules (docs/flag-model.md), for a flag that exists in flag-service
// (FlagDirectory), serving its variants and naming segments that exist.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "flag_directory.hpp"
#include "rule_store.hpp"
#include "segment_store.hpp"
#include "toggle/core/collection.hpp"
#include "toggle/rules/targeting.hpp"

namespace toggle::targeting {

// A rule record's "rules" field, parsed: a JSON array is the ordered rules (parse_targeting),
// anything else the legacy rule exactly as before (parse_new_rule: its own messages). Throws
// Error{invalid, "invalid_rule"} naming the problem.
rules::Targeting parsed_rules(const nlohmann::json& rules);
// check_targeting() against the flag's variants and the segments (nullptr / an empty function:
// not checked); throws Error{invalid, "invalid_rule"} with its "<path>: <problem>" message.
void check_rules(const rules::Targeting& targeting, const rules::FlagVariants* variants,
                 const std::function<bool(std::string_view)>& segment_exists);

class TargetingService : public CollectionService<RuleStore> {
 public:
  struct Config : BackendSettings {
    FeedOptions flags;  // following flag-service: FLAG_SERVICE_URL, SYNC_WAIT_MS, SYNC_FULL_RESYNC_MS
    static Config from_env(Env& env, const ServiceSettings& service);
  };
  explicit TargetingService(const Config& config);
  ~TargetingService() override;

  SegmentStore& segments() { return *segments_; }

  struct Collections;  // what the handlers of rules and segments share

 private:
  std::unique_ptr<FlagDirectory> flags_;
  std::unique_ptr<SegmentStore> segments_;
  std::unique_ptr<Collections> collections_;
};

}  // namespace toggle::targeting
