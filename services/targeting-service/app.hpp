// targeting-service (port 8003): the targeting rule of each flag, with the change feed evaluation
// follows.
//   POST /rules                             (write) create {flag_name, rules, is_enabled?=true}
//   GET  /rules, /rules/{flag_name}         (read)  list by flag name, read one
//   PUT|PATCH /rules/{flag_name}            (write) partial update {rules?, is_enabled?}
//   DELETE /rules/{flag_name}               (write)
//   GET  /changes?since=&epoch=&wait_ms=    (read)  change feed (long poll)
// A rule is {"type":"PERCENTAGE","value":0..100} or {"type":"USER_LIST","values":[user ids]}, for a
// flag that exists in flag-service (FlagDirectory).
#pragma once

#include <memory>
#include <string>

#include "flag_directory.hpp"
#include "rule_store.hpp"
#include "toggle/core/collection.hpp"

namespace toggle::targeting {

class TargetingService : public CollectionService<RuleStore> {
 public:
  struct Config : BackendSettings {
    FeedOptions flags;  // following flag-service: FLAG_SERVICE_URL, SYNC_WAIT_MS, SYNC_FULL_RESYNC_MS
    static Config from_env(Env& env, const ServiceSettings& service);
  };
  explicit TargetingService(const Config& config);
  ~TargetingService() override;

 private:
  std::unique_ptr<FlagDirectory> flags_;
};

}  // namespace toggle::targeting
