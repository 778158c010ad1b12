// analytics-service's HTTP API:
//   POST /events                  (service key) store a batch: [{event_id,user_id,flag_name,result,timestamp}]
//   GET  /events?flag_name=&limit= (any key)   newest first, limit 1-10000 (default 100)
//   GET  /summary?flag_name=       (any key)   {"flag_name","total","true","false"}
#pragma once

#include <string>

#include "event_store.hpp"
#include "toggle/core/auth.hpp"
#include "toggle/core/router.hpp"

namespace toggle::analytics {

// Largest batch POST /events accepts; evaluation-service's sender stays well below it.
constexpr std::size_t kMaxBatchBytes = 4 << 20;
constexpr std::size_t kMaxBatchEvents = 10000;

void add_routes(Router& router, EventStore& store, KeyValidator& keys, std::string service_key);

}  // namespace toggle::analytics
