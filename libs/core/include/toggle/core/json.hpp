// JSON bodies: parsing a request body into an object and reading its fields with checks that answer
// 400 naming the field, and JSON replies.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "toggle/core/http.hpp"

namespace toggle {

using json = nlohmann::json;

// The body as a JSON object; 400 invalid_json otherwise ("request body must be a JSON object", "malformed JSON …").
json parse_json_object(const Request& req);
// The body as any JSON value; 400 invalid_json when empty or malformed.
json parse_json_body(const Request& req);

Response json_response(int status, const json& body);

// Whether the JSON text nests arrays and objects at most `max_depth` deep (a linear scan, strings
// skipped): to refuse, before parsing, a value whose recursive copy or destruction could exhaust
// the stack (e.g. a message from Redis of a million '[').
bool nesting_within(std::string_view text, std::size_t max_depth);

// Field readers: 400 invalid_field / missing_field naming the field. Lengths count characters
// (code points). Absent and null both count as "not given" for the optional readers.
std::string required_string(const json& obj, std::string_view field, std::size_t max_length);
std::optional<std::string> optional_string(const json& obj, std::string_view field, std::size_t max_length);
std::optional<bool> optional_bool(const json& obj, std::string_view field);
bool has_field(const json& obj, std::string_view field);
// A partial update's body: 400 if `key_field` is given with another value than `key` (the key of
// an item never changes), or if none of `fields` is given.
void check_partial_update(const json& body, std::string_view key_field, const std::string& key,
                          std::initializer_list<std::string_view> fields);

}  // namespace toggle
