#include "app.hpp"

#include "toggle/core/crypto.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/metrics.hpp"
#include "toggle/core/text.hpp"

namespace toggle::auth {
namespace {

constexpr std::size_t kMaxNameLength = 100;
constexpr const char* kDevelopmentMasterKey = "master-key-local-dev";

json to_json(const ApiKey& k) {
  return {{"id", k.id},
          {"name", k.name},
          {"is_active", k.is_active},
          {"scopes", json::parse(scopes_json(k.scopes))},
          {"created_at", k.created_at},
          {"revoked_at", k.revoked_at ? json(*k.revoked_at) : json(nullptr)}};
}

// "scopes": ["read", …]; absent or null: none (the key gets default_scopes()).
ScopeSet read_scopes(const json& body) {
  ScopeSet scopes;
  auto it = body.find("scopes");
  if (it == body.end() || it->is_null()) return scopes;
  auto bad = [] {
    throw Error::invalid("invalid_field",
                         "'scopes' must be a non-empty array of: admin, write, read, evaluate, events");
  };
  if (!it->is_array() || it->empty()) bad();
  for (const auto& s : *it) {
    auto scope = s.is_string() ? parse_scope(s.get<std::string>()) : std::nullopt;
    if (!scope) bad();
    scopes.add(*scope);
  }
  return scopes;
}

}  // namespace

std::string generate_key() { return "tm_key_" + crypto::random_hex(32); }

AuthService::Config AuthService::Config::from_env(Env& env, const ServiceSettings& service) {
  Config c;
  c.master_key = env.required("MASTER_KEY", kDevelopmentMasterKey);
  if (c.master_key == kDevelopmentMasterKey)
    log::warn("MASTER_KEY is the development default: set your own in production");
  c.service_key = service_api_key(env);
  c.database = DatabaseSettings::from_env(env, service, "auth.db");
  return c;
}

AuthService::AuthService(const Config& config)
    : master_key_(config.master_key), db_(config.database.open()), store_(std::make_unique<KeyStore>(*db_)) {
  // The other services authenticate with SERVICE_API_KEY: register its hash so that it works
  // without a manual bootstrap step (the original needed one after every database wipe).
  if (!store_->ensure("service", crypto::sha256_hex(config.service_key), service_scopes()))
    log::warn("SERVICE_API_KEY has been revoked: the services using it will be refused");
  add_routes();
  add_readiness_check([this] { return store_->ping() ? "" : "database unreachable"; });
}

AuthService::~AuthService() = default;

void AuthService::require_admin(const Request& req) {
  std::string_view key = api_key_of(req);
  if (key.empty()) throw_missing_key();
  if (crypto::constant_time_equal(key, master_key_)) return;
  auto found = store_->find_active(crypto::sha256_hex(key));
  require_scope({found ? KeyValidator::Verdict::valid : KeyValidator::Verdict::invalid,
                 found ? found->scopes : ScopeSet{}},
                Scope::admin);
}

void AuthService::add_routes() {
  auto create = [this](Request& req) -> Reply {
    require_admin(req);
    json body = parse_json_object(req);
    std::string name = required_string(body, "name", kMaxNameLength);
    ScopeSet scopes = read_scopes(body);
    std::string key = generate_key();
    ApiKey created = store_->create(name, crypto::sha256_hex(key), scopes);
    log::info("api key created", {{"id", created.id}, {"name", created.name}, {"scopes", scopes_json(created.scopes)}});
    json reply = to_json(created);
    reply["key"] = key;
    reply["message"] = "Store this key safely: it will not be shown again.";
    return json_response(201, reply);
  };
  RouteOptions admin_only;  // checked from the headers: a refused request's body is not read
  admin_only.before_body = [this](const Request& req) -> Reply {
    require_admin(req);
    return proceed();
  };
  router().post("/admin/keys", create, admin_only);
  router().post("/keys", create, admin_only);

  router().get("/admin/keys", [this](Request& req) -> Reply {
    require_admin(req);
    json list = json::array();
    for (const auto& k : store_->list()) list.push_back(to_json(k));
    return json_response(200, list);
  });

  router().del("/admin/keys/{id}", [this](Request& req) -> Reply {
    require_admin(req);
    std::string text = req.path_param("id");
    auto id = parse_bounded_int(text, 1, 999'999'999'999'999'999);
    if (!id) throw Error::invalid("invalid_parameter", "key id must be a positive integer");
    if (!store_->revoke(*id)) throw Error::not_found("key_not_found", "no API key with id " + text);
    log::info("api key revoked", {{"id", *id}});
    return empty_response(204);
  });

  router().any("/validate", [this](Request& req) -> Reply {
    key_validations().inc();
    std::string_view key = api_key_of(req);
    if (key.empty()) throw_missing_key();
    auto found = store_->find_active(crypto::sha256_hex(key));
    if (!found) throw Error(ErrorKind::unauthenticated, "invalid_key", "invalid or revoked API key");
    return json_response(200, {{"valid", true},
                               {"id", found->id},
                               {"name", found->name},
                               {"scopes", json::parse(scopes_json(found->scopes))}});
  });
}

}  // namespace toggle::auth
