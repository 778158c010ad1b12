// flag-service (port 8002): flags and the kill switch, with the change feed evaluation follows.
//   POST /flags                          (write) create {name, description?, is_enabled?=false}
//   GET  /flags, /flags/{name}           (read)  list by name, read one
//   PUT|PATCH /flags/{name}              (write) partial update {description?, is_enabled?}
//   DELETE /flags/{name}                 (write)
//   GET  /changes?since=&epoch=&wait_ms= (read)  change feed (long poll)
#pragma once

#include "flag_store.hpp"
#include "toggle/core/collection.hpp"

namespace toggle::flags {

class FlagService : public CollectionService<FlagStore> {
 public:
  struct Config : BackendSettings {
    static Config from_env(Env& env, const ServiceSettings& service);
  };
  explicit FlagService(const Config& config);
};

}  // namespace toggle::flags
