#include "api.hpp"

#include "toggle/core/auth.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"

namespace toggle::auth {
namespace {

constexpr std::size_t kMaxNameLength = 100;

json to_json(const ApiKey& k) {
  return {{"id", k.id},
          {"name", k.name},
          {"is_active", k.is_active},
          {"created_at", k.created_at},
          {"revoked_at", k.revoked_at ? json(*k.revoked_at) : json(nullptr)}};
}

// The admin endpoints take the master key, compared in constant time.
void require_master_key(const Request& req, const std::string& master_key) {
  std::string_view given = api_key_from_header(req.header("Authorization"));
  if (given.empty()) throw HttpError(401, "missing master key: send 'Authorization: Bearer <master key>'");
  if (!crypto::constant_time_equal(given, master_key)) throw HttpError(403, "invalid master key");
}

}  // namespace

std::string generate_key() { return "tm_key_" + crypto::random_hex(32); }

void add_routes(Router& router, KeyStore& store, ApiConfig config) {
  auto create = [&store, config](Request& req) -> Reply {
    require_master_key(req, config.master_key);
    json body = parse_json_object(req);
    std::string name = required_string(body, "name", kMaxNameLength);
    std::string key = generate_key();
    ApiKey created = store.create(name, crypto::sha256_hex(key));
    log::info("api key created", {{"id", created.id}, {"name", created.name}});
    json reply = to_json(created);
    reply["key"] = key;
    reply["message"] = "Store this key safely: it will not be shown again.";
    return json_response(201, reply);
  };
  router.post("/admin/keys", create);
  router.post("/keys", create);

  router.get("/admin/keys", [&store, config](Request& req) -> Reply {
    require_master_key(req, config.master_key);
    json list = json::array();
    for (const auto& k : store.list()) list.push_back(to_json(k));
    return json_response(200, list);
  });

  router.del("/admin/keys/{id}", [&store, config](Request& req) -> Reply {
    require_master_key(req, config.master_key);
    std::string text = req.path_param("id");
    std::int64_t id = 0;
    bool numeric = !text.empty() && text.size() <= 18 && text.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) id = std::stoll(text);
    if (!numeric || id <= 0) throw HttpError(400, "key id must be a positive integer");
    if (!store.revoke(id)) throw HttpError(404, "no API key with id " + text);
    log::info("api key revoked", {{"id", id}});
    return empty_response(204);
  });

  router.any("/validate", [&store](Request& req) -> Reply {
    std::string_view key = api_key_from_header(req.header("Authorization"));
    if (key.empty()) throw HttpError(401, "missing API key: send 'Authorization: Bearer <key>'");
    auto found = store.find_active(crypto::sha256_hex(key));
    if (!found) throw HttpError(401, "invalid or revoked API key");
    return json_response(200, {{"valid", true}, {"id", found->id}, {"name", found->name}});
  });
}

}  // namespace toggle::auth
