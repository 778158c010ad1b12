#include "toggle/core/json.hpp"

#include "toggle/core/text.hpp"

namespace toggle {
namespace {
std::string quoted(std::string_view field) { return "'" + std::string(field) + "'"; }

const json* find(const json& obj, std::string_view field) {
  auto it = obj.find(field);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}
}  // namespace

json parse_json_object(const Request& req) {
  json body = parse_json_body(req);
  if (!body.is_object()) throw Error::invalid("invalid_json", "request body must be a JSON object");
  return body;
}

json parse_json_body(const Request& req) {
  if (req.body.empty()) throw Error::invalid("invalid_json", "request body must be JSON, and it is empty");
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) throw Error::invalid("invalid_json", "malformed JSON in request body");
  return body;
}

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

bool has_field(const json& obj, std::string_view field) { return obj.contains(field); }

void check_partial_update(const json& body, std::string_view key_field, const std::string& key,
                          std::initializer_list<std::string_view> fields) {
  if (auto given = optional_string(body, key_field, 1000); given && *given != key)
    throw Error::invalid("invalid_field", quoted(key_field) + " cannot be changed");
  std::string names;
  for (auto f : fields) {
    if (find(body, f)) return;
    names += (names.empty() ? "" : ", ") + quoted(f);
  }
  throw Error::invalid("missing_field", "at least one of " + names + " is required");
}

std::optional<std::string> optional_string(const json& obj, std::string_view field, std::size_t max_length) {
  const json* v = find(obj, field);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw Error::invalid("invalid_field", quoted(field) + " must be a string");
  const auto& s = v->get_ref<const std::string&>();
  if (utf8_length(s) > max_length)
    throw Error::invalid("invalid_field", quoted(field) + " must be at most " + std::to_string(max_length) + " characters");
  return s;
}

std::string required_string(const json& obj, std::string_view field, std::size_t max_length) {
  auto s = optional_string(obj, field, max_length);
  if (!s || s->empty()) throw Error::invalid("missing_field", quoted(field) + " is required");
  return *s;
}

std::optional<bool> optional_bool(const json& obj, std::string_view field) {
  const json* v = find(obj, field);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw Error::invalid("invalid_field", quoted(field) + " must be true or false");
  return v->get<bool>();
}

bool nesting_within(std::string_view text, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

}  // namespace toggle
