// flag-service (port 8002): flags and the kill switch, with the change feed evaluation follows.
//   POST /flags                          (write) create {name, description?, is_enabled?=false,
//                                                type?, variants?, default_variant?, off_variant?}
//   GET  /flags, /flags/{name}           (read)  list by name, read one
//   GET  /flags/{name}?include=rules     (read)  the flag with its rule record and the segments
//                                                it uses, from targeting-service
//   PUT|PATCH /flags/{name}              (write) partial update {description?, is_enabled?, and
//                                                the variant part's keys, merged over it}
//   DELETE /flags/{name}                 (write)
//   GET  /changes?since=&epoch=&wait_ms= (read)  change feed (long poll)
// The variant part (toggle::rules::FlagVariants) is optional: a flag without one is today's
// boolean flag and answers exactly as before.
#pragma once

#include <memory>
#include <string>

#include "flag_store.hpp"
#include "targeting_client.hpp"
#include "toggle/core/collection.hpp"

namespace toggle::flags {

class FlagService : public CollectionService<FlagStore> {
 public:
  struct Config : BackendSettings {
    std::string targeting_url;  // TARGETING_SERVICE_URL: where ?include=rules reads the rules
    static Config from_env(Env& env, const ServiceSettings& service);
  };
  explicit FlagService(const Config& config);

 private:
  std::unique_ptr<TargetingClient> targeting_;
};

}  // namespace toggle::flags
