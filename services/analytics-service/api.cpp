#include "api.hpp"

#include "toggle/core/crypto.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/metrics.hpp"
#include "toggle/core/text.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle::analytics {
namespace {

json to_json(const Event& e) {
  return {{"event_id", e.event_id},
          {"user_id", e.user_id},
          {"flag_name", e.flag_name},
          {"result", e.result},
          {"timestamp", e.timestamp}};
}

// One event of a batch, checked field by field; `where` names it in errors ("events[3]").
Event read_event(const json& j, const std::string& where) {
  if (!j.is_object()) throw HttpError(400, where + " must be an object");
  auto text = [&](const char* field, std::size_t max) {
    auto it = j.find(field);
    if (it == j.end() || !it->is_string() || it->get_ref<const std::string&>().empty() ||
        it->get_ref<const std::string&>().size() > max)
      throw HttpError(400, where + "." + field + " must be a string of 1-" + std::to_string(max) + " characters");
    return it->get<std::string>();
  };
  Event e{text("event_id", 64), text("user_id", rules::kMaxUserIdLength), text("flag_name", rules::kMaxFlagNameLength),
          false, text("timestamp", 40)};
  if (!rules::is_valid_flag_name(e.flag_name)) throw HttpError(400, where + ".flag_name is not a valid flag name");
  auto result = j.find("result");
  if (result == j.end() || !result->is_boolean()) throw HttpError(400, where + ".result must be true or false");
  e.result = result->get<bool>();
  return e;
}

std::size_t read_limit(const Request& req) {
  auto text = req.query("limit");
  if (!text) return 100;
  bool digits = !text->empty() && text->size() <= 5 && text->find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoul(*text) < 1 || std::stoul(*text) > 10000)
    throw HttpError(400, "limit must be an integer between 1 and 10000");
  return std::stoul(*text);
}

std::optional<std::string> read_flag_name(const Request& req) {
  auto name = req.query("flag_name");
  if (name && !rules::is_valid_flag_name(*name))
    throw HttpError(400, "flag_name must be 1-100 characters of A-Z, a-z, 0-9, '_', '.', '-'");
  return name;
}

}  // namespace

void add_routes(Router& router, EventStore& store, KeyValidator& keys, std::string service_key) {
  static Counter& stored_total = metrics().counter("analytics_events_stored_total", "Events stored (new)");
  static Counter& duplicate_total = metrics().counter("analytics_events_duplicate_total", "Events received again");

  router.post("/events",
              [&store, service_key](Request& req) -> Reply {
                // Only evaluation-service sends events: check its key here, without a call to auth-service,
                // so that ingestion keeps working while auth-service is down.
                std::string_view key = api_key_from_header(req.header("Authorization"));
                if (key.empty()) throw HttpError(401, "missing API key: send 'Authorization: Bearer <service key>'");
                if (!crypto::constant_time_equal(key, service_key))
                  throw HttpError(403, "only the service key may send events");
                json body = json::parse(req.body, nullptr, false);
                if (body.is_discarded()) throw HttpError(400, "malformed JSON in request body");
                if (!body.is_array()) throw HttpError(400, "request body must be a JSON array of events");
                if (body.size() > kMaxBatchEvents)
                  throw HttpError(413, "at most " + std::to_string(kMaxBatchEvents) + " events per batch");
                std::vector<Event> events;
                events.reserve(body.size());
                for (std::size_t i = 0; i < body.size(); ++i)
                  events.push_back(read_event(body[i], "events[" + std::to_string(i) + "]"));
                std::size_t stored = store.store(events);
                stored_total.inc(stored);
                duplicate_total.inc(events.size() - stored);
                return json_response(200, {{"stored", stored}, {"duplicates", events.size() - stored}});
              },
              {.blocking = true, .body_limit = kMaxBatchBytes});

  router.get("/events", with_api_key(keys, [&store](Request& req) -> Reply {
               auto flag = read_flag_name(req);
               std::size_t limit = read_limit(req);
               json list = json::array();
               for (const auto& e : store.recent(flag, limit)) list.push_back(to_json(e));
               return json_response(200, list);
             }));

  router.get("/summary", with_api_key(keys, [&store](Request& req) -> Reply {
               auto flag = read_flag_name(req);
               if (!flag) throw HttpError(400, "flag_name is a required query parameter");
               Summary s = store.summary(*flag);
               return json_response(200, {{"flag_name", *flag},
                                          {"total", s.true_count + s.false_count},
                                          {"true", s.true_count},
                                          {"false", s.false_count}});
             }));
}

}  // namespace toggle::analytics
