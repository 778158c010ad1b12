#include "ofrep_api.hpp"

#include <cctype>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include "toggle/core/checks.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/text.hpp"

namespace toggle::evaluation {
namespace {

using rules::ErrorCode;

// {"key":…,"errorCode":…,"errorDetails":…}; without "key" for a failure of a whole bulk request.
void append_failure(std::string& out, const std::string* key, std::string_view code, std::string_view details) {
  out += '{';
  if (key) {
    out += "\"key\":";
    append_json_string(out, *key);
    out += ',';
  }
  out += "\"errorCode\":";
  append_json_string(out, code);
  out += ",\"errorDetails\":";
  append_json_string(out, details);
  out += '}';
}

Response failure(int status, const std::string* key, std::string_view code, std::string_view details) {
  Response r;
  r.status = status;
  append_failure(r.body, key, code, details);
  if (status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

// A refused key (401 missing/invalid key, 403 missing scope, 503 auth-service unavailable) in
// OFREP's error shape: our code in upper case ("INVALID_KEY"), OFREP defining no body for these.
Response refusal(const Error& e, const std::string* key) {
  std::string code = e.code();
  for (char& c : code) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return failure(http_status(e.kind()), key, code, e.public_message());
}
Response missing_key(const std::string* key) {
  try {
    throw_missing_key();
  } catch (const Error& e) {
    return refusal(e, key);
  }
}

// The flag key of a single-flag request as its replies show it: decoded when it can be, as sent
// otherwise; nothing for the bulk route, whose failures name no key.
std::optional<std::string> key_shown(const Request& req) {
  std::optional<std::string> key;
  for (const auto& [n, v] : req.params)
    if (n == "key") key = v;
  if (!key) return key;
  try {
    key = req.path_param("key");
  } catch (const Error&) {  // bad %-encoding: as sent
  }
  if (!is_valid_utf8(*key)) key = "(not shown)";
  return key;
}

// {"key":…,"value":…,"variant":…,"reason":…,"metadata":{…}}: the variant served.
void append_success(std::string& out, const FlagEntry& entry, const rules::Resolution& r) {
  out += "{\"key\":";
  append_json_string(out, entry.flag.name);
  out += ",\"value\":";
  out += r.variant->value_json;
  out += ",\"variant\":";
  append_json_string(out, r.variant->name);
  out += ",\"reason\":\"";
  out += rules::to_string(r.reason);
  out += "\",\"metadata\":{";
  if (!r.rule_name.empty()) {  // the rule that decided, when it has a name
    out += "\"rule\":";
    append_json_string(out, r.rule_name);
  }
  out += "}}";
}

// The entry's answer for `context`: resolve(), unless the flag cannot be evaluated as stored.
rules::Resolution resolve_entry(const FlagEntry& entry, const rules::SegmentSet& segments,
                                const rules::Context& context) {
  if (entry.error != ErrorCode::none) {
    rules::Resolution r;
    r.error = entry.error;
    return r;
  }
  return rules::resolve(entry.flag, entry.targeting_or_null(), segments, context);
}

std::string details_of(const FlagEntry& entry, const rules::Resolution& r) {
  return entry.error != ErrorCode::none ? entry.error_details : rules::error_details(r);
}

// The request body's context, or the reason it cannot be read: PARSE_ERROR (not JSON) or
// INVALID_CONTEXT (no "context" object, or one Context::from_json refuses).
struct ReadContext {
  std::optional<rules::Context> context;
  ErrorCode error = ErrorCode::none;
  std::string details;
};
ReadContext read_context(const Request& req) {
  ReadContext out;
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded()) {
    out.error = ErrorCode::parse_error;
    out.details = req.body.empty() ? "request body is empty; expected {\"context\": {...}}"
                                   : "request body is not valid JSON; expected {\"context\": {...}}";
    return out;
  }
  auto it = body.is_object() ? body.find("context") : body.end();
  if (!body.is_object() || it == body.end() || !it->is_object()) {
    out.error = ErrorCode::invalid_context;
    out.details = !body.is_object()  ? "request body must be a JSON object {\"context\": {...}}"
                  : it == body.end() ? "context: required (an object, e.g. {\"targetingKey\": \"user-1\"})"
                                     : "context: must be an object";
    return out;
  }
  out.context = rules::Context::from_json(*it, out.details);
  if (!out.context) out.error = ErrorCode::invalid_context;
  return out;
}

// The targetingKey as an event's user_id, or kAnonymousUser.
std::string event_user(const rules::Context& context) {
  auto key = context.targeting_key();
  if (!key) return std::string(kAnonymousUser);
  try {
    return checked_user_id(std::string(*key));
  } catch (const Error&) {
    return std::string(kAnonymousUser);
  }
}

// A strong ETag of a bulk answer: 64 bits of a hash of its bytes. The answer depends only on the
// flags and the context, so an unchanged answer keeps its ETag (on every replica of one build).
std::string etag_of(std::string_view body) {
  char text[24];
  std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(std::hash<std::string_view>{}(body)));
  return text;
}

}  // namespace

bool etag_matches(std::string_view header, std::string_view etag) {
  std::string_view opaque = etag.substr(0, 2) == "W/" ? etag.substr(2) : etag;
  std::size_t i = 0;
  while (i < header.size()) {
    char c = header[i];
    if (c == ' ' || c == '\t' || c == ',') {
      ++i;
      continue;
    }
    if (c == '*') return true;
    if (header.substr(i, 2) == "W/") i += 2;
    if (i >= header.size() || header[i] != '"') return false;  // not an entity tag: no match
    std::size_t end = header.find('"', i + 1);
    if (end == std::string_view::npos) return false;
    if (header.substr(i, end + 1 - i) == opaque) return true;
    i = end + 1;
  }
  return false;
}

OfrepApi::OfrepApi(Catalog& catalog, MissFetcher& fetcher, EventSender& events, KeyGate& keys, Options options)
    : catalog_(catalog), fetcher_(fetcher), events_(events), keys_(keys), options_(options) {}

void OfrepApi::add_routes(Router& router) {
  RouteOptions o{.blocking = false, .body_limit = kMaxOfrepBodyBytes, .cors = true};
  o.before_body = [this](const Request& req) { return check_key(req); };
  router.post(
      "/ofrep/v1/evaluate/flags/{key}", [this](Request& req) { return evaluate_flag(req); }, o);
  router.post(
      "/ofrep/v1/evaluate/flags", [this](Request& req) { return evaluate_flags(req); }, o);
}

Reply OfrepApi::check_key(const Request& req) {
  if (!keys_.required()) return proceed();
  std::string api_key(api_key_of(req));
  std::optional<std::string> shown = key_shown(req);
  if (api_key.empty()) return missing_key(shown ? &*shown : nullptr);
  return keys_.admit(
      std::move(api_key), [] { return Reply(proceed()); },
      [shown](const Error& e) { return refusal(e, shown ? &*shown : nullptr); });
}

Reply OfrepApi::evaluate_flag(Request& req) {
  std::string key = key_shown(req).value_or("");
  std::optional<std::string> name;
  try {
    name = checked_flag_name(key);
  } catch (const Error&) {  // no such flag can exist: answered FLAG_NOT_FOUND once the body is read
  }
  std::string api_key;
  if (keys_.required()) {  // the key first, as /evaluate
    api_key = api_key_of(req);
    if (api_key.empty()) return missing_key(&key);
  }
  ReadContext read = read_context(req);
  if (!read.context) return failure(400, &key, rules::to_string(read.error), read.details);
  if (!name) return failure(404, &key, "FLAG_NOT_FOUND", "Flag '" + key + "' was not found (not a valid flag name)");
  if (!keys_.required()) return decide(*name, *read.context);
  return keys_.admit(
      std::move(api_key), [this, name = *name, context = std::move(*read.context)] { return decide(name, context); },
      [key](const Error& e) { return refusal(e, &key); });
}

Reply OfrepApi::decide(const std::string& key, const rules::Context& context) {
  if (catalog_.complete()) {
    const Snapshot* snapshot = catalog_.snapshot();
    if (const FlagEntry* entry = snapshot->find(key)) return answer(*entry, snapshot->segments, context);
  }
  if (auto lookup = fetcher_.answer_now(key)) return answer(*lookup, key, context);
  return Deferred{[this, key, context = std::make_shared<const rules::Context>(context)](Responder respond) {
    fetcher_.fetch(key,
                   [this, key, context, respond](const Lookup& lookup) { respond(answer(lookup, key, *context)); });
  }};
}

Response OfrepApi::answer(const Lookup& lookup, const std::string& key, const rules::Context& context) {
  switch (lookup.status) {
    case Lookup::Status::found:
      return answer(lookup.flag, catalog_.snapshot()->segments, context);
    case Lookup::Status::not_found:
      break;
    default:  // unavailable, refused (too many unknown flags), timed out
      return failure(503, &key, "GENERAL", lookup.error_message(key));
  }
  return failure(404, &key, "FLAG_NOT_FOUND", "Flag '" + key + "' was not found");
}

Response OfrepApi::answer(const FlagEntry& entry, const rules::SegmentSet& segments, const rules::Context& context) {
  rules::Resolution r = resolve_entry(entry, segments, context);
  emit(entry, r, context);
  if (!r.variant) {
    // GENERAL from a lookup whose rules could not be fetched is ours, and passes: 503.
    bool ours = entry.error == ErrorCode::general;
    return failure(ours ? 503 : 400, &entry.flag.name, rules::to_string(r.error), details_of(entry, r));
  }
  Response out;
  out.body.reserve(96 + entry.flag.name.size() + r.variant->value_json.size());
  append_success(out.body, entry, r);
  return out;
}

void OfrepApi::emit(const FlagEntry& entry, const rules::Resolution& r, const rules::Context& context) {
  Event event{crypto::uuid_v7(), event_user(context), entry.flag.name, r.result, iso8601_now()};
  if (r.variant) event.variant = r.variant->name;
  event.reason = rules::to_string(r.reason);
  events_.emit(std::move(event));
}

Reply OfrepApi::evaluate_flags(Request& req) {
  std::string api_key;
  if (keys_.required()) {
    api_key = api_key_of(req);
    if (api_key.empty()) return missing_key(nullptr);
  }
  ReadContext read = read_context(req);
  if (!read.context) return failure(400, nullptr, rules::to_string(read.error), read.details);
  std::string if_none_match(req.header("If-None-Match"));
  if (!keys_.required()) return bulk(*read.context, if_none_match);
  return keys_.admit(
      std::move(api_key),
      [this, context = std::move(*read.context), if_none_match] { return Reply(bulk(context, if_none_match)); },
      [](const Error& e) { return refusal(e, nullptr); });
}

Response OfrepApi::bulk(const rules::Context& context, std::string_view if_none_match) {
  if (!catalog_.complete())
    return failure(503, nullptr, "GENERAL", "the flags are not loaded yet from flag-service and targeting-service");
  const Snapshot* snapshot = catalog_.snapshot();
  Response out;
  out.body.reserve(64 + 128 * snapshot->by_name.size());
  out.body = "{\"flags\":[";
  bool first = true;
  for (const FlagEntry* entry : snapshot->by_name) {
    if (!first) out.body += ',';
    first = false;
    rules::Resolution r = resolve_entry(*entry, snapshot->segments, context);
    if (r.variant)
      append_success(out.body, *entry, r);
    else
      append_failure(out.body, &entry->flag.name, rules::to_string(r.error), details_of(*entry, r));
    if (options_.bulk_events) emit(*entry, r, context);
  }
  out.body += "]}";
  std::string etag = etag_of(out.body);
  if (!if_none_match.empty() && etag_matches(if_none_match, etag)) {
    out = empty_response(304);
  }
  out.headers.emplace_back("ETag", std::move(etag));
  return out;
}

}  // namespace toggle::evaluation
