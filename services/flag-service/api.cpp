#include "api.hpp"

#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle::flags {
namespace {

constexpr std::size_t kMaxDescriptionLength = 1000;

json to_json(const Flag& f) {
  return {{"id", f.id},
          {"name", f.name},
          {"description", f.description},
          {"is_enabled", f.is_enabled},
          {"created_at", f.created_at},
          {"updated_at", f.updated_at}};
}

std::string checked_name(const std::string& name) {
  if (!rules::is_valid_flag_name(name))
    throw HttpError(400, "flag name must be 1-100 characters of A-Z, a-z, 0-9, '_', '.', '-'");
  return name;
}

FlagUpdate read_update(const json& body, const std::string& name) {
  if (auto given = optional_string(body, "name", 1000); given && *given != name)
    throw HttpError(400, "'name' cannot be changed; create a new flag instead");
  FlagUpdate u{optional_string(body, "description", kMaxDescriptionLength), optional_bool(body, "is_enabled")};
  if (!u.description && !u.is_enabled) throw HttpError(400, "at least one of 'description', 'is_enabled' is required");
  return u;
}

}  // namespace

Api::Api(FlagStore& store, KeyValidator& keys)
    : store_(store),
      keys_(keys),
      feed_(store.version(), store.epoch(), [this](std::int64_t since, const std::string& epoch) {
        FlagChanges ch = store_.changes_since(since, epoch);
        json flags = json::array();
        for (const auto& f : ch.flags) flags.push_back(to_json(f));
        return json_response(200, {{"epoch", ch.epoch},
                                   {"version", ch.version},
                                   {"full", ch.full},
                                   {"flags", std::move(flags)},
                                   {"deleted", ch.deleted}});
      }) {}

void Api::add_routes(Router& router) {
  auto authed = [this](Reply (Api::*handler)(Request&)) {
    return with_api_key(keys_, [this, handler](Request& req) { return (this->*handler)(req); });
  };
  router.post("/flags", authed(&Api::create));
  router.get("/flags", authed(&Api::list));
  router.get("/flags/{name}", authed(&Api::read));
  router.put("/flags/{name}", authed(&Api::update));
  router.patch("/flags/{name}", authed(&Api::update));
  router.del("/flags/{name}", authed(&Api::remove));
  router.get("/changes", authed(&Api::changes));
}

Reply Api::create(Request& req) {
  json body = parse_json_object(req);
  std::string name = checked_name(required_string(body, "name", 1000));
  std::string description = optional_string(body, "description", kMaxDescriptionLength).value_or("");
  bool enabled = optional_bool(body, "is_enabled").value_or(false);
  try {
    Flag f = store_.create(name, description, enabled);
    feed_.publish(f.version);
    log::info("flag created", {{"flag", name}, {"is_enabled", enabled}});
    return json_response(201, to_json(f));
  } catch (const sql::Error& e) {
    if (e.kind() != sql::ErrorKind::conflict) throw;
    throw HttpError(409, "flag '" + name + "' already exists");
  }
}

Reply Api::list(Request&) {
  json list = json::array();
  for (const auto& f : store_.list()) list.push_back(to_json(f));
  return json_response(200, list);
}

Reply Api::read(Request& req) {
  auto f = store_.get(checked_name(req.path_param("name")));
  if (!f) throw HttpError(404, "flag not found");
  return json_response(200, to_json(*f));
}

Reply Api::update(Request& req) {
  std::string name = checked_name(req.path_param("name"));
  FlagUpdate u = read_update(parse_json_object(req), name);
  auto f = store_.update(name, u);
  if (!f) throw HttpError(404, "flag not found");
  feed_.publish(f->version);
  log::info("flag updated", {{"flag", name}, {"is_enabled", f->is_enabled}});
  return json_response(200, to_json(*f));
}

Reply Api::remove(Request& req) {
  std::string name = checked_name(req.path_param("name"));
  auto version = store_.remove(name);
  if (!version) throw HttpError(404, "flag not found");
  feed_.publish(*version);
  log::info("flag deleted", {{"flag", name}});
  return empty_response(204);
}

Reply Api::changes(Request& req) { return feed_.handle(req); }

}  // namespace toggle::flags
