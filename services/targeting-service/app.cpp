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
  auto rule = rules::parse_rule(*it, error);
  if (!rule) throw Error::invalid("invalid_rule", error);
  return rules::to_json(*rule).dump();
}

// A USER_LIST may hold 10,000 user ids of up to 256 characters: more than the default body limit.
constexpr RouteOptions kRuleWrite{.blocking = true, .body_limit = 4 << 20};

Error rule_not_found(const std::string& flag_name) {
  return Error::not_found("rule_not_found", "flag '" + flag_name + "' has no rule");
}

}  // namespace

TargetingService::Config TargetingService::Config::from_env(Env& env, const ServiceSettings& service) {
  Config c{auth_service_url(env), env.url("FLAG_SERVICE_URL", "http://localhost:8002"), service_api_key(env),
           DatabaseSettings::from_env(env, service, "targeting.db")};
  c.sync_wait = env.millis("SYNC_WAIT_MS", 25000, 100, 60000);
  c.full_resync = env.millis("SYNC_FULL_RESYNC_MS", 300000, 1000, 86400000);
  return c;
}

TargetingService::TargetingService(const Config& config)
    : db_(config.database.open()),
      store_(std::make_unique<RuleStore>(*db_, config.database.url)),
      keys_(config.auth_url, config.service_key),
      flags_(std::make_unique<FlagDirectory>(
          FeedOptions{"flag-service", config.flag_url, config.service_key, config.sync_wait, config.full_resync},
          *store_)) {
  add_routes();
  add_readiness_check([this] { return store_->feed().ping() ? "" : "database unreachable"; });
  add_readiness_check(http_health_check("auth-service", config.auth_url));
  flags_->start();
  on_drain([this] { store_->feed().close(); });
  on_stop([this] { flags_->stop(); });
}

TargetingService::~TargetingService() { flags_->stop(); }

void TargetingService::add_routes() {
  auto with = [this](Scope scope, Reply (TargetingService::*handler)(Request&)) {
    return with_api_key(keys_, scope, [this, handler](Request& req) { return (this->*handler)(req); });
  };
  router().post("/rules", with(Scope::write, &TargetingService::create), kRuleWrite);
  router().get("/rules", with(Scope::read, &TargetingService::list));
  router().get("/rules/{flag_name}", with(Scope::read, &TargetingService::read));
  router().put("/rules/{flag_name}", with(Scope::write, &TargetingService::update), kRuleWrite);
  router().patch("/rules/{flag_name}", with(Scope::write, &TargetingService::update), kRuleWrite);
  router().del("/rules/{flag_name}", with(Scope::write, &TargetingService::remove));
  router().get("/changes", with_api_key(keys_, Scope::read, [this](Request& req) { return store_->feed().changes(req); }));
}

Reply TargetingService::create(Request& req) {
  json body = parse_json_object(req);
  std::string flag_name = checked_flag_name(required_string(body, "flag_name", 1000));
  auto rules = checked_rules(body);
  if (!rules)
    throw Error::invalid("missing_field", "'rules' is required, e.g. {\"type\":\"PERCENTAGE\",\"value\":50}");
  bool enabled = optional_bool(body, "is_enabled").value_or(true);
  flags_->require_flag(flag_name);
  TargetingRule r = store_->create(flag_name, *rules, enabled);
  log::info("rule created", {{"flag", flag_name}, {"is_enabled", enabled}, {"bytes", r.rules.size()}});
  return json_response(201, to_json(r));
}

Reply TargetingService::list(Request&) {
  json list = json::array();
  for (const auto& r : store_->list()) list.push_back(to_json(r));
  return json_response(200, list);
}

Reply TargetingService::read(Request& req) {
  std::string flag_name = checked_flag_name(req.path_param("flag_name"));
  auto r = store_->get(flag_name);
  if (!r) throw rule_not_found(flag_name);
  return json_response(200, to_json(*r));
}

Reply TargetingService::update(Request& req) {
  std::string flag_name = checked_flag_name(req.path_param("flag_name"));
  json body = parse_json_object(req);
  if (auto given = optional_string(body, "flag_name", 1000); given && *given != flag_name)
    throw Error::invalid("invalid_field", "'flag_name' cannot be changed");
  RuleUpdate u{checked_rules(body), optional_bool(body, "is_enabled")};
  if (!u.rules && !u.is_enabled) throw Error::invalid("missing_field", "at least one of 'rules', 'is_enabled' is required");
  auto r = store_->update(flag_name, u);
  if (!r) throw rule_not_found(flag_name);
  log::info("rule updated", {{"flag", flag_name}, {"is_enabled", r->is_enabled}, {"bytes", r->rules.size()}});
  return json_response(200, to_json(*r));
}

Reply TargetingService::remove(Request& req) {
  std::string flag_name = checked_flag_name(req.path_param("flag_name"));
  if (!store_->remove(flag_name)) throw rule_not_found(flag_name);
  log::info("rule deleted", {{"flag", flag_name}});
  return empty_response(204);
}

}  // namespace toggle::targeting
