#include "app.hpp"

#include "toggle/core/checks.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle::flags {
namespace {

constexpr std::size_t kMaxDescriptionLength = 1000;

FlagUpdate read_update(const json& body, const std::string& name) {
  if (auto given = optional_string(body, "name", 1000); given && *given != name)
    throw Error::invalid("invalid_field", "'name' cannot be changed; create a new flag instead");
  FlagUpdate u{optional_string(body, "description", kMaxDescriptionLength), optional_bool(body, "is_enabled")};
  if (!u.description && !u.is_enabled)
    throw Error::invalid("missing_field", "at least one of 'description', 'is_enabled' is required");
  return u;
}

Error flag_not_found(const std::string& name) { return Error::not_found("flag_not_found", "flag '" + name + "' not found"); }

}  // namespace

FlagService::Config FlagService::Config::from_env(Env& env, const ServiceSettings& service) {
  return {auth_service_url(env), service_api_key(env), DatabaseSettings::from_env(env, service, "flags.db")};
}

FlagService::FlagService(const Config& config)
    : db_(config.database.open()),
      store_(std::make_unique<FlagStore>(*db_, config.database.url)),
      keys_(config.auth_url, config.service_key) {
  add_routes();
  add_readiness_check([this] { return store_->feed().ping() ? "" : "database unreachable"; });
  add_readiness_check(http_health_check("auth-service", config.auth_url));
  on_drain([this] { store_->feed().close(); });
}

FlagService::~FlagService() = default;

void FlagService::add_routes() {
  auto with = [this](Scope scope, Reply (FlagService::*handler)(Request&)) {
    return with_api_key(keys_, scope, [this, handler](Request& req) { return (this->*handler)(req); });
  };
  router().post("/flags", with(Scope::write, &FlagService::create));
  router().get("/flags", with(Scope::read, &FlagService::list));
  router().get("/flags/{name}", with(Scope::read, &FlagService::read));
  router().put("/flags/{name}", with(Scope::write, &FlagService::update));
  router().patch("/flags/{name}", with(Scope::write, &FlagService::update));
  router().del("/flags/{name}", with(Scope::write, &FlagService::remove));
  router().get("/changes", with_api_key(keys_, Scope::read, [this](Request& req) { return store_->feed().changes(req); }));
}

Reply FlagService::create(Request& req) {
  json body = parse_json_object(req);
  std::string name = checked_flag_name(required_string(body, "name", 1000), "name");
  std::string description = optional_string(body, "description", kMaxDescriptionLength).value_or("");
  bool enabled = optional_bool(body, "is_enabled").value_or(false);
  Flag f = store_->create(name, description, enabled);
  log::info("flag created", {{"flag", name}, {"is_enabled", enabled}});
  return json_response(201, to_json(f));
}

Reply FlagService::list(Request&) {
  json list = json::array();
  for (const auto& f : store_->list()) list.push_back(to_json(f));
  return json_response(200, list);
}

Reply FlagService::read(Request& req) {
  std::string name = checked_flag_name(req.path_param("name"), "flag name");
  auto f = store_->get(name);
  if (!f) throw flag_not_found(name);
  return json_response(200, to_json(*f));
}

Reply FlagService::update(Request& req) {
  std::string name = checked_flag_name(req.path_param("name"), "flag name");
  FlagUpdate u = read_update(parse_json_object(req), name);
  auto f = store_->update(name, u);
  if (!f) throw flag_not_found(name);
  log::info("flag updated", {{"flag", name}, {"is_enabled", f->is_enabled}});
  return json_response(200, to_json(*f));
}

Reply FlagService::remove(Request& req) {
  std::string name = checked_flag_name(req.path_param("name"), "flag name");
  if (!store_->remove(name)) throw flag_not_found(name);
  log::info("flag deleted", {{"flag", name}});
  return empty_response(204);
}

}  // namespace toggle::flags
