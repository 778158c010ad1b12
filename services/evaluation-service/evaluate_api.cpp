#include "evaluate_api.hpp"

#include "toggle/core/checks.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/text.hpp"

namespace toggle::evaluation {

EvaluateApi::EvaluateApi(Catalog& catalog, MissFetcher& fetcher, EventSender& events, KeyGate& keys)
    : catalog_(catalog), fetcher_(fetcher), events_(events), keys_(keys) {}

void EvaluateApi::add_routes(Router& router) {
  router.get("/evaluate", [this](Request& req) { return evaluate(req); }, {.blocking = false, .cors = true});
}

Reply EvaluateApi::evaluate(Request& req) {
  std::string key;
  if (keys_.required()) {  // the key first: a caller without one learns that before anything else
    key = api_key_of(req);
    if (key.empty()) throw_missing_key();
  }
  auto user_id = req.query("user_id");
  auto flag_name = req.query("flag_name");
  if (!user_id || user_id->empty() || !flag_name || flag_name->empty())
    throw Error::invalid("missing_parameter", "user_id and flag_name are required query parameters");
  std::string flag = checked_flag_name(std::move(*flag_name));
  std::string user = checked_user_id(std::move(*user_id));
  if (!keys_.required()) return decide(std::move(flag), std::move(user));
  return keys_.admit(
      std::move(key), [this, flag = std::move(flag), user = std::move(user)] { return decide(flag, user); },
      [](const Error& e) { return error_response(e); });
}

Reply EvaluateApi::decide(std::string flag_name, std::string user_id) {
  if (catalog_.complete()) {
    const Snapshot* snapshot = catalog_.snapshot();
    if (const FlagEntry* entry = snapshot->find(flag_name)) return answer(*entry, snapshot->segments, user_id);
  }
  if (auto lookup = fetcher_.answer_now(flag_name)) return answer(*lookup, flag_name, user_id);
  return Deferred{[this, flag = std::move(flag_name), user = std::move(user_id)](Responder respond) {
    fetcher_.fetch(flag, [this, flag, user, respond](const Lookup& lookup) { respond(answer(lookup, flag, user)); });
  }};
}

Response EvaluateApi::answer(const Lookup& lookup, const std::string& flag_name, std::string_view user_id) {
  switch (lookup.status) {
    case Lookup::Status::found:
      return answer(lookup.flag, catalog_.snapshot()->segments, user_id);
    case Lookup::Status::not_found:
      events_.emit({crypto::uuid_v7(), std::string(user_id), flag_name, false, iso8601_now()});
      return reply(flag_name, user_id, false);
    default:
      break;
  }
  Response r = error_response(ErrorKind::unavailable, lookup.error_code(), lookup.error_message(flag_name));
  // Refused or late: the same request may well be answered a moment later.
  if (lookup.status != Lookup::Status::unavailable) r.headers.emplace_back("Retry-After", "1");
  return r;
}

Response EvaluateApi::answer(const FlagEntry& flag, const rules::SegmentSet& segments, std::string_view user_id) {
  UserAnswer a = answer_for_user(flag, segments, user_id);
  Event event{crypto::uuid_v7(), std::string(user_id), flag.flag.name, a.result, iso8601_now()};
  if (a.resolved) {
    if (a.resolution.variant) event.variant = a.resolution.variant->name;
    event.reason = rules::to_string(a.resolution.reason);
  }
  events_.emit(std::move(event));
  return reply(flag.flag.name, user_id, a.result);
}

Response EvaluateApi::reply(const std::string& flag_name, std::string_view user_id, bool result) {
  Response r;
  r.body.reserve(48 + flag_name.size() + user_id.size());
  r.body = "{\"flag_name\":";
  append_json_string(r.body, flag_name);
  r.body += ",\"user_id\":";
  append_json_string(r.body, user_id);
  r.body += result ? ",\"result\":true}" : ",\"result\":false}";
  return r;
}

}  // namespace toggle::evaluation
