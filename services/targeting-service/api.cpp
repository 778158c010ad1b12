#include "api.hpp"

#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle::targeting {
namespace {

json to_json(const TargetingRule& r) {
  return {{"id", r.id},
          {"flag_name", r.flag_name},
          {"is_enabled", r.is_enabled},
          {"rules", json::parse(r.rules, nullptr, false)},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at}};
}

std::string checked_flag_name(const std::string& name) {
  if (!rules::is_valid_flag_name(name))
    throw HttpError(400, "flag_name must be 1-100 characters of A-Z, a-z, 0-9, '_', '.', '-'");
  return name;
}

// The rule as canonical JSON text, or 400 naming what is wrong with it.
std::optional<std::string> checked_rules(const json& body) {
  auto it = body.find("rules");
  if (it == body.end()) return std::nullopt;
  std::string error;
  auto rule = rules::parse_rule(*it, error);
  if (!rule) throw HttpError(400, error);
  return rules::to_json(*rule).dump();
}

// A USER_LIST may hold 10,000 user ids of up to 256 characters: more than the default body limit.
constexpr RouteOptions kRuleWrite{.blocking = true, .body_limit = 4 << 20};

}  // namespace

Api::Api(RuleStore& store, KeyValidator& keys)
    : store_(store),
      keys_(keys),
      feed_(store.version(), store.epoch(), [this](std::int64_t since, const std::string& epoch) {
        RuleChanges ch = store_.changes_since(since, epoch);
        json list = json::array();
        for (const auto& r : ch.rules) list.push_back(to_json(r));
        return json_response(200, {{"epoch", ch.epoch},
                                   {"version", ch.version},
                                   {"full", ch.full},
                                   {"rules", std::move(list)},
                                   {"deleted", ch.deleted}});
      }) {}

void Api::add_routes(Router& router) {
  auto authed = [this](Reply (Api::*handler)(Request&)) {
    return with_api_key(keys_, [this, handler](Request& req) { return (this->*handler)(req); });
  };
  router.post("/rules", authed(&Api::create), kRuleWrite);
  router.get("/rules", authed(&Api::list));
  router.get("/rules/{flag_name}", authed(&Api::read));
  router.put("/rules/{flag_name}", authed(&Api::update), kRuleWrite);
  router.patch("/rules/{flag_name}", authed(&Api::update), kRuleWrite);
  router.del("/rules/{flag_name}", authed(&Api::remove));
  router.get("/changes", authed(&Api::changes));
}

Reply Api::create(Request& req) {
  json body = parse_json_object(req);
  std::string flag_name = checked_flag_name(required_string(body, "flag_name", 1000));
  auto rules = checked_rules(body);
  if (!rules) throw HttpError(400, "'rules' is required, e.g. {\"type\":\"PERCENTAGE\",\"value\":50}");
  bool enabled = optional_bool(body, "is_enabled").value_or(true);
  try {
    TargetingRule r = store_.create(flag_name, *rules, enabled);
    feed_.publish(r.version);
    log::info("rule created", {{"flag", flag_name}, {"rules", *rules}});
    return json_response(201, to_json(r));
  } catch (const sql::Error& e) {
    if (e.kind() != sql::ErrorKind::conflict) throw;
    throw HttpError(409, "a rule for flag '" + flag_name + "' already exists; change it with PUT /rules/" + flag_name);
  }
}

Reply Api::list(Request&) {
  json list = json::array();
  for (const auto& r : store_.list()) list.push_back(to_json(r));
  return json_response(200, list);
}

Reply Api::read(Request& req) {
  auto r = store_.get(checked_flag_name(req.path_param("flag_name")));
  if (!r) throw HttpError(404, "rule not found");
  return json_response(200, to_json(*r));
}

Reply Api::update(Request& req) {
  std::string flag_name = checked_flag_name(req.path_param("flag_name"));
  json body = parse_json_object(req);
  if (auto given = optional_string(body, "flag_name", 1000); given && *given != flag_name)
    throw HttpError(400, "'flag_name' cannot be changed");
  RuleUpdate u{checked_rules(body), optional_bool(body, "is_enabled")};
  if (!u.rules && !u.is_enabled) throw HttpError(400, "at least one of 'rules', 'is_enabled' is required");
  auto r = store_.update(flag_name, u);
  if (!r) throw HttpError(404, "rule not found");
  feed_.publish(r->version);
  log::info("rule updated", {{"flag", flag_name}, {"is_enabled", r->is_enabled}, {"rules", r->rules}});
  return json_response(200, to_json(*r));
}

Reply Api::remove(Request& req) {
  std::string flag_name = checked_flag_name(req.path_param("flag_name"));
  auto version = store_.remove(flag_name);
  if (!version) throw HttpError(404, "rule not found");
  feed_.publish(*version);
  log::info("rule deleted", {{"flag", flag_name}});
  return empty_response(204);
}

Reply Api::changes(Request& req) { return feed_.handle(req); }

}  // namespace toggle::targeting
