#include "app.hpp"

#include "toggle/core/checks.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle::targeting {
namespace {

// The rule as canonical JSON text, or 400 naming what is wrong with it.
std::optional<std::string> checked_rules(const json& body) {
  auto it = body.find("rules");
  if (it == body.end()) return std::nullopt;
  std::string error;
  auto rule = rules::parse_new_rule(*it, error);
  if (!rule) throw Error::invalid("invalid_rule", error);
  return rules::to_json(*rule).dump();
}

// A USER_LIST may hold 10,000 user ids of up to 256 characters: more than the default body limit.
const RouteOptions kRuleWrite{.blocking = true, .body_limit = 4 << 20};

std::string rule_not_found(const std::string& flag_name) { return "flag '" + flag_name + "' has no rule"; }

CollectionItems items(RuleStore& rules, FlagDirectory& flags) {
  CollectionItems items{"rule", "rule_not_found", rule_not_found};
  items.create = [&rules, &flags](Request& req) -> Reply {
    json body = parse_json_object(req);
    std::string flag_name = checked_flag_name(required_string(body, "flag_name", 1000));
    auto text = checked_rules(body);
    if (!text)
      throw Error::invalid("missing_field", "'rules' is required, e.g. {\"type\":\"PERCENTAGE\",\"value\":50}");
    bool enabled = optional_bool(body, "is_enabled").value_or(true);
    flags.require_flag(flag_name);
    TargetingRule r = rules.create(flag_name, *text, enabled);
    log::info("rule created", {{"flag", flag_name}, {"is_enabled", enabled}, {"bytes", r.rules.size()}});
    return json_response(201, to_json(r));
  };
  items.update = [&rules](Request& req) -> Reply {
    std::string flag_name = checked_flag_name(req.path_param("flag_name"));
    json body = parse_json_object(req);
    check_partial_update(body, "flag_name", flag_name, {"rules", "is_enabled"});
    auto r = rules.update(flag_name, checked_rules(body), optional_bool(body, "is_enabled"));
    if (!r) throw Error::not_found("rule_not_found", rule_not_found(flag_name));
    log::info("rule updated", {{"flag", flag_name}, {"is_enabled", r->is_enabled}, {"bytes", r->rules.size()}});
    return json_response(200, to_json(*r));
  };
  return items;
}

}  // namespace

TargetingService::Config TargetingService::Config::from_env(Env& env, const ServiceSettings& service) {
  Config c{BackendSettings::from_env(env, service, "targeting.db")};
  c.flags = {"flag-service", env.url("FLAG_SERVICE_URL", "http://localhost:8002"), c.service_key,
             env.millis("SYNC_WAIT_MS", 25000, 100, 60000), env.millis("SYNC_FULL_RESYNC_MS", 300000, 1000, 86400000)};
  return c;
}

TargetingService::TargetingService(const Config& config)
    : CollectionService(config), flags_(std::make_unique<FlagDirectory>(config.flags, store())) {
  serve("/rules", "flag_name", items(store(), *flags_), kRuleWrite);
  flags_->start();
  on_stop([this] { flags_->stop(); });
}

TargetingService::~TargetingService() { flags_->stop(); }

}  // namespace toggle::targeting
