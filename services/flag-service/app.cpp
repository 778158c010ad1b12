#include "app.hpp"

#include "toggle/core/checks.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle::flags {
namespace {

constexpr std::size_t kMaxDescriptionLength = 1000;

CollectionItems items(FlagStore& store) {
  CollectionItems items{"flag", "flag_not_found", [](const std::string& name) { return "flag '" + name + "' not found"; }};
  items.create = [&store](Request& req) -> Reply {
    json body = parse_json_object(req);
    std::string name = checked_flag_name(required_string(body, "name", 1000), "name");
    std::string description = optional_string(body, "description", kMaxDescriptionLength).value_or("");
    bool enabled = optional_bool(body, "is_enabled").value_or(false);
    Flag f = store.create(name, description, enabled);
    log::info("flag created", {{"flag", name}, {"is_enabled", enabled}});
    return json_response(201, to_json(f));
  };
  items.update = [&store](Request& req) -> Reply {
    std::string name = checked_flag_name(req.path_param("name"), "name");
    json body = parse_json_object(req);
    check_partial_update(body, "name", name, {"description", "is_enabled"});
    auto f = store.update(name, optional_string(body, "description", kMaxDescriptionLength),
                          optional_bool(body, "is_enabled"));
    if (!f) throw Error::not_found("flag_not_found", "flag '" + name + "' not found");
    log::info("flag updated", {{"flag", name}, {"is_enabled", f->is_enabled}});
    return json_response(200, to_json(*f));
  };
  return items;
}

}  // namespace

FlagService::Config FlagService::Config::from_env(Env& env, const ServiceSettings& service) {
  return {BackendSettings::from_env(env, service, "flags.db")};
}

FlagService::FlagService(const Config& config) : CollectionService(config) { serve("/flags", "name", items(store())); }

}  // namespace toggle::flags
