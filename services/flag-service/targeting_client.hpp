// What targeting-service holds for one flag, read for GET /flags/{name}?include=rules: its rule
// record (GET /rules/{name}) and the segments the rules name in in_segment conditions
// (GET /segments/{name}), asked with the service key.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace toggle::flags {

class TargetingClient {
 public:
  // `base_url`: TARGETING_SERVICE_URL.
  TargetingClient(std::string base_url, std::string service_key);

  // {"rules": the flag's rule record, or null when it has none; "segments": [the segment objects
  // its rules use, by name; one that does not exist (any more) is left out]}. Throws
  // Error{unavailable, "targeting_service_unavailable"} when targeting-service cannot answer.
  nlohmann::json rules_of(const std::string& flag_name) const;

 private:
  std::string base_url_, service_key_;
};

}  // namespace toggle::flags
