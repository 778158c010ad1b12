#include "targeting_client.hpp"

#include <chrono>

#include "toggle/core/client.hpp"
#include "toggle/core/error.hpp"
#include "toggle/core/json.hpp"
#include "toggle/rules/targeting.hpp"

namespace toggle::flags {
namespace {

// The body of a 200 (a JSON object), or nullopt for a 404; throws for anything else.
std::optional<json> found(const ClientResponse& res, const std::string& flag_name) {
  if (res.status == 404) return std::nullopt;
  std::string problem = res.status ? "answered HTTP " + std::to_string(res.status) : res.error;
  if (res.status == 200) {
    json body = json::parse(res.body, nullptr, false);
    if (body.is_object()) return body;
    problem = "answered with a body that is not a JSON object";
  }
  throw Error::unavailable("targeting_service_unavailable",
                           "cannot include the rules of flag '" + flag_name + "': targeting-service " + problem);
}

}  // namespace

TargetingClient::TargetingClient(std::string base_url, std::string service_key)
    : base_url_(std::move(base_url)), service_key_(std::move(service_key)) {}

json TargetingClient::rules_of(const std::string& flag_name) const {
  auto get = [this](const std::string& path) {
    return ClientRequest{"GET", base_url_ + path, {{"Authorization", "Bearer " + service_key_}}, "",
                         std::chrono::milliseconds(2000)};
  };
  HttpClient client;
  auto record = found(client.send(get("/rules/" + flag_name)), flag_name);
  json segments = json::array();
  if (record) {
    // Both services read rules with the same libs/rules: what targeting-service stored parses.
    // Should it not, the record is still shown, with no segments.
    std::string error;
    auto targeting = rules::parse_targeting(record->value("rules", json()), error);
    std::vector<ClientRequest> requests;
    if (targeting)
      for (const auto& name : targeting->segments_used()) requests.push_back(get("/segments/" + name));
    if (!requests.empty())
      for (const auto& res : client.send_all(requests))
        if (auto segment = found(res, flag_name)) segments.push_back(std::move(*segment));
  }
  return {{"rules", record ? std::move(*record) : json()}, {"segments", std::move(segments)}};
}

}  // namespace toggle::flags
