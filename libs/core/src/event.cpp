#include "toggle/core/event.hpp"

#include "toggle/core/checks.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/text.hpp"

namespace toggle {
namespace {

[[noreturn]] void bad(const std::string& where, const std::string& problem) {
  throw Error::invalid("invalid_event", where + problem);
}

std::string text_field(const json& j, const char* field, std::size_t max, const std::string& where, bool required) {
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) {
    if (required) bad(where, std::string(".") + field + " is required");
    return {};
  }
  if (!it->is_string() || it->get_ref<const std::string&>().empty() ||
      utf8_length(it->get_ref<const std::string&>()) > max)
    bad(where, std::string(".") + field + " must be a string of 1-" + std::to_string(max) + " characters");
  return it->get<std::string>();
}

}  // namespace

void append_json(std::string& out, const Event& e) {
  out += "{\"event_id\":";
  append_json_string(out, e.event_id);
  out += ",\"user_id\":";
  append_json_string(out, e.user_id);
  out += ",\"flag_name\":";
  append_json_string(out, e.flag_name);
  out += e.result ? ",\"result\":true,\"timestamp\":" : ",\"result\":false,\"timestamp\":";
  append_json_string(out, e.timestamp);
  if (!e.variant.empty()) {
    out += ",\"variant\":";
    append_json_string(out, e.variant);
  }
  if (!e.reason.empty()) {
    out += ",\"reason\":";
    append_json_string(out, e.reason);
  }
  out += '}';
}

std::string to_json_array(const Event* begin, const Event* end) {
  std::string out = "[";
  for (const Event* e = begin; e != end; ++e) {
    if (e != begin) out += ',';
    append_json(out, *e);
  }
  out += ']';
  return out;
}

Event parse_event(const json& j, const std::string& where, bool id_required) {
  if (!j.is_object()) bad(where, " must be an object");
  Event e;
  e.event_id = text_field(j, "event_id", kMaxEventIdLength, where, id_required);
  try {
    e.user_id = checked_user_id(text_field(j, "user_id", 256, where, true), where + ".user_id");
    e.flag_name = checked_flag_name(text_field(j, "flag_name", 100, where, true), where + ".flag_name");
  } catch (const Error& invalid) {
    bad("", invalid.what());
  }
  auto result = j.find("result");
  if (result == j.end() || !result->is_boolean()) bad(where, ".result must be true or false");
  e.result = result->get<bool>();
  std::string timestamp = text_field(j, "timestamp", 40, where, true);
  auto time = parse_timestamp(timestamp);
  if (!time) bad(where, ".timestamp must be an RFC 3339 date-time, e.g. 2026-11-30T13:00:00Z (got '" + timestamp + "')");
  e.timestamp = iso8601(*time);
  e.variant = text_field(j, "variant", kMaxVariantLength, where, false);
  e.reason = text_field(j, "reason", 32, where, false);
  if (e.event_id.empty()) e.event_id = content_event_id(e);
  return e;
}

std::vector<Event> parse_event_batch(std::string_view text, bool ids_required) {
  json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) throw Error::invalid("invalid_json", "malformed JSON in request body");
  if (!body.is_array()) throw Error::invalid("invalid_json", "request body must be a JSON array of events");
  if (body.size() > kMaxBatchEvents)
    throw Error(ErrorKind::too_large, "too_many_events",
                "at most " + std::to_string(kMaxBatchEvents) + " events per batch");
  std::vector<Event> events;
  events.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i)
    events.push_back(parse_event(body[i], "events[" + std::to_string(i) + "]", ids_required));
  return events;
}

std::string content_event_id(const Event& e) {
  std::string content;
  for (const std::string* part : {&e.user_id, &e.flag_name, &e.timestamp}) {
    content += *part;
    content += '\0';  // unambiguous: none of the fields may contain NUL
  }
  content += e.result ? "true" : "false";
  std::string hex = crypto::sha256_hex(content).substr(0, 32);
  hex[12] = '8';                                                   // version 8: custom
  hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];  // RFC 9562 variant
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

}  // namespace toggle
