// Internal: reading the JSON replies of AWS calls.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "toggle/cloud/aws_error.hpp"

namespace toggle::cloud::detail {

// The reply body as JSON (an empty body is {}); AwsError "InvalidResponse" if it is not a JSON
// object. `operation` names the call in the error.
inline nlohmann::json parse_reply(const std::string& body, std::string_view operation) {
  if (body.empty()) return nlohmann::json::object();
  auto reply = nlohmann::json::parse(body, nullptr, false);
  if (!reply.is_object())
    throw AwsError(200, "InvalidResponse", std::string(operation) + ": the reply is not a JSON object", false);
  return reply;
}

// A string member, or "" when absent or not a string.
inline std::string string_at(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A request body as JSON text; std::invalid_argument if one of its strings is not UTF-8 (AWS
// takes only UTF-8, and a string changed on the way would be stored changed).
inline std::string to_text(const nlohmann::json& request) {
  try {
    return request.dump();
  } catch (const nlohmann::json::type_error& e) {
    throw std::invalid_argument(std::string("a request string is not valid UTF-8: ") + e.what());
  }
}

}  // namespace toggle::cloud::detail
