#include "app.hpp"

#include "toggle/core/checks.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/rules/flag.hpp"

namespace toggle::flags {
namespace {

constexpr std::size_t kMaxDescriptionLength = 1000;

// The variant part validated, as canonical JSON text; 400 invalid_flag "<field>: <problem>".
std::string canonical_variant_part(const json& part) {
  std::string error;
  auto variants = rules::parse_flag_variants(part, error);
  if (!variants) throw Error::invalid("invalid_flag", error);
  return rules::to_json(*variants).dump();
}

std::string flag_not_found(const std::string& name) { return "flag '" + name + "' not found"; }

CollectionItems items(FlagStore& store, const TargetingClient& targeting) {
  CollectionItems items{"flag", "flag_not_found", flag_not_found};
  items.create = [&store](Request& req) -> Reply {
    json body = parse_json_object(req);
    std::string name = checked_flag_name(required_string(body, "name", 1000), "name");
    std::string description = optional_string(body, "description", kMaxDescriptionLength).value_or("");
    bool enabled = optional_bool(body, "is_enabled").value_or(false);
    std::optional<std::string> variants;
    if (auto part = rules::variant_part_of(body)) variants = canonical_variant_part(*part);
    Flag f = store.create(name, description, enabled, variants);
    log::info("flag created", {{"flag", name}, {"is_enabled", enabled}});
    return json_response(201, to_json(f));
  };
  items.update = [&store](Request& req) -> Reply {
    std::string name = checked_flag_name(req.path_param("name"), "name");
    json body = parse_json_object(req);
    check_partial_update(body, "name", name,
                         {"description", "is_enabled", "type", "variants", "default_variant", "off_variant"});
    auto description = optional_string(body, "description", kMaxDescriptionLength);
    auto enabled = optional_bool(body, "is_enabled");
    // The keys given replace the stored ones (a flag without a part has the implicit boolean
    // one, {}), and the whole is checked again: a new type needs variants of that type.
    std::optional<std::string> variants;
    if (auto given = rules::variant_part_of(body)) {
      auto stored = store.get(name);
      if (!stored) throw Error::not_found("flag_not_found", flag_not_found(name));
      json part = stored->variants ? json::parse(*stored->variants) : json::object();
      part.update(*given);
      variants = canonical_variant_part(part);
    }
    auto f = store.update(name, description, enabled, variants);
    if (!f) throw Error::not_found("flag_not_found", flag_not_found(name));
    log::info("flag updated", {{"flag", name}, {"is_enabled", f->is_enabled}});
    return json_response(200, to_json(*f));
  };
  items.read = [&targeting](Request& req, json flag) -> json {
    auto include = req.query("include");
    if (!include) return flag;
    if (*include != "rules")
      throw Error::invalid("invalid_parameter",
                           "'include' must be 'rules' (the flag's rule record and the segments it uses)");
    flag.update(targeting.rules_of(flag.at("name").get<std::string>()));
    return flag;
  };
  return items;
}

}  // namespace

FlagService::Config FlagService::Config::from_env(Env& env, const ServiceSettings& service) {
  Config c{BackendSettings::from_env(env, service, "flags.db")};
  c.targeting_url = env.url("TARGETING_SERVICE_URL", "http://localhost:8003");
  return c;
}

FlagService::FlagService(const Config& config)
    : CollectionService(config), targeting_(std::make_unique<TargetingClient>(config.targeting_url, config.service_key)) {
  serve("/flags", "name", items(store(), *targeting_));
}

}  // namespace toggle::flags
