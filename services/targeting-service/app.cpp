#include "app.hpp"

#include <algorithm>
#include <mutex>

#include "toggle/core/checks.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle::targeting {

rules::Targeting parsed_rules(const json& rules) {
  std::string error;
  if (rules.is_array()) {
    auto targeting = rules::parse_targeting(rules, error);
    if (!targeting) throw Error::invalid("invalid_rule", error);
    return *targeting;
  }
  auto rule = rules::parse_new_rule(rules, error);
  if (!rule) throw Error::invalid("invalid_rule", error);
  return rules::Targeting(*rule);
}

void check_rules(const rules::Targeting& targeting, const rules::FlagVariants* variants,
                 const std::function<bool(std::string_view)>& segment_exists) {
  std::string error;
  if (!rules::check_targeting(targeting, variants, segment_exists, error)) throw Error::invalid("invalid_rule", error);
}

// What the handlers of both collections share.
struct TargetingService::Collections {
  RuleStore& rules;
  SegmentStore& segments;
  FlagDirectory& flags;
  // Rules name segments: a rule is written only while its segments exist, a segment deleted only
  // while no rule uses it. Each check and its write hold this (within one replica).
  std::mutex references;

  bool segment_exists(std::string_view name) { return segments.get(name).has_value(); }

  // The targeting serves only the flag's variants. Checked against what the feed said of the
  // flag and, when that refuses it, against flag-service's answer now: the variants may have
  // changed a moment ago (if flag-service cannot answer, the first refusal stands).
  void check_variants(const std::string& flag_name, const rules::Targeting& targeting) {
    rules::FlagVariants known = flags.require_flag(flag_name);
    std::string error;
    if (rules::check_targeting(targeting, &known, {}, error)) return;
    rules::FlagVariants now;
    try {
      now = flags.require_flag(flag_name, true);
    } catch (const Error&) {
      throw Error::invalid("invalid_rule", error);
    }
    check_rules(targeting, &now, {});
  }

  // Flags whose rules name the segment, by name.
  std::vector<std::string> flags_using(const std::string& segment) {
    std::vector<std::string> users;
    for (const auto& rule : rules.list()) {
      if (rule.rules.find("\"in_segment\"") == std::string::npos) continue;
      std::string error;
      auto targeting = rules::parse_targeting(json::parse(rule.rules, nullptr, false), error);
      if (!targeting) continue;
      auto used = targeting->segments_used();
      if (std::find(used.begin(), used.end(), segment) != used.end()) users.push_back(rule.flag_name);
    }
    return users;
  }
};

namespace {

using Collections = TargetingService::Collections;

// A USER_LIST may hold 10,000 user ids of up to 256 characters, rules and segments 10,000 values:
// more than the default body limit.
const RouteOptions kTargetingWrite{.blocking = true, .body_limit = 4 << 20};

std::string rule_not_found(const std::string& flag_name) { return "flag '" + flag_name + "' has no rule"; }
std::string segment_not_found(const std::string& name) { return "segment '" + name + "' not found"; }

CollectionItems rule_items(Collections& c) {
  CollectionItems items{"rule", "rule_not_found", rule_not_found};
  items.create = [&c](Request& req) -> Reply {
    json body = parse_json_object(req);
    std::string flag_name = checked_flag_name(required_string(body, "flag_name", 1000));
    auto it = body.find("rules");
    if (it == body.end())
      throw Error::invalid("missing_field", "'rules' is required, e.g. {\"type\":\"PERCENTAGE\",\"value\":50}");
    rules::Targeting targeting = parsed_rules(*it);
    bool enabled = optional_bool(body, "is_enabled").value_or(true);
    c.check_variants(flag_name, targeting);
    std::string text = rules::to_json(targeting).dump();
    std::lock_guard lock(c.references);
    check_rules(targeting, nullptr, [&c](std::string_view name) { return c.segment_exists(name); });
    TargetingRule r = c.rules.create(flag_name, text, enabled);
    log::info("rule created", {{"flag", flag_name}, {"is_enabled", enabled}, {"bytes", r.rules.size()}});
    return json_response(201, to_json(r));
  };
  items.update = [&c](Request& req) -> Reply {
    std::string flag_name = checked_flag_name(req.path_param("flag_name"));
    json body = parse_json_object(req);
    check_partial_update(body, "flag_name", flag_name, {"rules", "is_enabled"});
    std::optional<rules::Targeting> targeting;
    std::optional<std::string> text;
    if (auto it = body.find("rules"); it != body.end()) {
      targeting = parsed_rules(*it);
      if (!c.rules.get(flag_name)) throw Error::not_found("rule_not_found", rule_not_found(flag_name));
      c.check_variants(flag_name, *targeting);
      text = rules::to_json(*targeting).dump();
    }
    auto enabled = optional_bool(body, "is_enabled");
    std::unique_lock lock(c.references);
    if (targeting) check_rules(*targeting, nullptr, [&c](std::string_view name) { return c.segment_exists(name); });
    auto r = c.rules.update(flag_name, text, enabled);
    lock.unlock();
    if (!r) throw Error::not_found("rule_not_found", rule_not_found(flag_name));
    log::info("rule updated", {{"flag", flag_name}, {"is_enabled", r->is_enabled}, {"bytes", r->rules.size()}});
    return json_response(200, to_json(*r));
  };
  return items;
}

// A segment's canonical conditions, or 400 invalid_segment naming the problem.
std::string checked_conditions(const json& segment) {
  std::string error;
  auto parsed = rules::parse_segment(segment, error);
  if (!parsed) throw Error::invalid("invalid_segment", error);
  return rules::to_json(*parsed).at("conditions").dump();
}

CollectionItems segment_items(Collections& c) {
  CollectionItems items{"segment", "segment_not_found", segment_not_found};
  items.changes = "/segments/changes";
  items.create = [&c](Request& req) -> Reply {
    json body = parse_json_object(req);
    std::string conditions = checked_conditions(body);
    std::string name = body.at("name").get<std::string>();
    if (name == "changes")
      throw Error::invalid("invalid_segment", "name: 'changes' is reserved (GET /segments/changes is the change feed)");
    std::lock_guard lock(c.references);
    if (c.segments.count() >= rules::kMaxSegments)
      throw Error::conflict("too_many_segments", "targeting-service holds at most " +
                                                     std::to_string(rules::kMaxSegments) +
                                                     " segments: delete one before creating another");
    SegmentRecord s = c.segments.create(name, conditions);
    log::info("segment created", {{"segment", name}, {"bytes", s.conditions.size()}});
    return json_response(201, to_json(s));
  };
  items.update = [&c](Request& req) -> Reply {
    std::string name = checked_flag_name(req.path_param("name"), "name");
    json body = parse_json_object(req);
    check_partial_update(body, "name", name, {"conditions"});
    std::string conditions = checked_conditions({{"name", name}, {"conditions", body.at("conditions")}});
    auto s = c.segments.update(name, conditions);
    if (!s) throw Error::not_found("segment_not_found", segment_not_found(name));
    log::info("segment updated", {{"segment", name}, {"bytes", s->conditions.size()}});
    return json_response(200, to_json(*s));
  };
  items.remove = [&c](const std::string& name) {
    std::lock_guard lock(c.references);
    auto users = c.flags_using(name);
    if (!users.empty()) {
      std::string list;
      for (const auto& flag : users) list += (list.empty() ? "" : ", ") + flag;
      throw Error::conflict("segment_in_use", "segment '" + name + "' is used by the rules of flag" +
                                                  (users.size() > 1 ? "s " : " ") + list +
                                                  ": change those rules first");
    }
    return c.segments.remove(name);
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
    : CollectionService(config),
      flags_(std::make_unique<FlagDirectory>(config.flags, store())),
      segments_(std::make_unique<SegmentStore>(database(), config.database.url)),
      collections_(new Collections{store(), *segments_, *flags_, {}}) {
  serve("/rules", "flag_name", rule_items(*collections_), kTargetingWrite);
  serve(segments_->feed(), "/segments", "name", segment_items(*collections_), kTargetingWrite);
  flags_->start();
  on_stop([this] { flags_->stop(); });
}

TargetingService::~TargetingService() { flags_->stop(); }

}  // namespace toggle::targeting
