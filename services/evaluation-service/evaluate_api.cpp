#include "evaluate_api.hpp"

#include "toggle/core/checks.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/text.hpp"

namespace toggle::evaluation {

EvaluateApi::EvaluateApi(Catalog& catalog, MissFetcher& fetcher, EventSender& events, KeyValidator* keys,
                         unsigned key_check_threads)
    : catalog_(catalog), fetcher_(fetcher), events_(events), keys_(keys), key_checks_(key_check_threads) {}

void EvaluateApi::add_routes(Router& router) {
  router.get("/evaluate", [this](Request& req) { return evaluate(req); }, {.blocking = false, .cors = true});
}

Reply EvaluateApi::evaluate(Request& req) {
  std::string key;
  if (keys_) {  // the key first: a caller without one learns that before anything else
    key = api_key_of(req);
    if (key.empty()) throw_missing_key();
  }
  auto user_id = req.query("user_id");
  auto flag_name = req.query("flag_name");
  if (!user_id || user_id->empty() || !flag_name || flag_name->empty())
    throw Error::invalid("missing_parameter", "user_id and flag_name are required query parameters");
  std::string flag = checked_flag_name(std::move(*flag_name));
  std::string user = checked_user_id(std::move(*user_id));
  if (!keys_) return decide(std::move(flag), std::move(user));

  if (auto check = keys_->cached(key)) {
    require_scope(*check, Scope::evaluate);
    return decide(std::move(flag), std::move(user));
  }
  // First sight of this key: ask auth-service off the I/O thread.
  return Deferred{[this, key, flag = std::move(flag), user = std::move(user)](Responder respond) {
    key_checks_.post([this, key, flag, user, respond] {
      try {
        require_scope(keys_->validate(key), Scope::evaluate);
      } catch (const Error& e) {
        return respond(error_response(e));
      }
      reply_with(respond, decide(flag, user));
    });
  }};
}

Reply EvaluateApi::decide(std::string flag_name, std::string user_id) {
  if (catalog_.complete()) {
    const Snapshot* snapshot = catalog_.snapshot();
    if (auto it = snapshot->find(flag_name); it != snapshot->end()) return answer(it->second, user_id);
  }
  if (auto lookup = fetcher_.recent(flag_name)) return answer(*lookup, flag_name, user_id);
  return Deferred{[this, flag = std::move(flag_name), user = std::move(user_id)](Responder respond) {
    fetcher_.fetch(flag, [this, flag, user, respond](const Lookup& lookup) { respond(answer(lookup, flag, user)); });
  }};
}

Response EvaluateApi::answer(const Lookup& lookup, const std::string& flag_name, std::string_view user_id) {
  switch (lookup.status) {
    case Lookup::Status::found:
      return answer(lookup.flag, user_id);
    case Lookup::Status::not_found:
      return answer(rules::FlagDefinition{flag_name, false, std::nullopt}, user_id);
    case Lookup::Status::unavailable:
      break;
  }
  return error_response(ErrorKind::unavailable, "flag_unavailable",
                        "flag '" + flag_name + "' is not known here yet and cannot be fetched: " + lookup.problem);
}

Response EvaluateApi::answer(const rules::FlagDefinition& flag, std::string_view user_id) {
  bool result = rules::evaluate(flag, user_id);
  events_.emit({crypto::uuid_v7(), std::string(user_id), flag.name, result, iso8601_now()});
  Response r;
  r.body.reserve(48 + flag.name.size() + user_id.size());
  r.body = "{\"flag_name\":";
  append_json_string(r.body, flag.name);
  r.body += ",\"user_id\":";
  append_json_string(r.body, user_id);
  r.body += result ? ",\"result\":true}" : ",\"result\":false}";
  return r;
}

}  // namespace toggle::evaluation
