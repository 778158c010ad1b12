// parse_rule() and to_json(): the wire format of a targeting rule.
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "echo.hpp"
#include "toggle/rules/rules.hpp"

namespace toggle::rules {

std::string detail::quoted(std::string_view text) {
  bool echoable = !text.empty() && text.size() <= 64;
  for (unsigned char c : text) echoable = echoable && c >= 0x20 && c < 0x7f;
  if (!echoable) return "(not shown)";
  std::string out = "'";
  out += text;
  out += '\'';
  return out;
}

namespace {

using nlohmann::json;

constexpr const char* kTypeError = "rules.type must be one of PERCENTAGE, USER_LIST";
constexpr const char* kValueError = "rules.value must be a number between 0 and 100";
constexpr const char* kValuesError = "rules.values must be an array of user ids (strings of 1-256 characters)";

// Every key of `j` must be "type" or `payload_key`.
bool has_only_keys(const json& j, RuleType type, const char* payload_key, std::string& error) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    if (key == "type" || key == payload_key) continue;
    error = "rules has unknown key " + detail::quoted(key) + "; a " + std::string(to_string(type)) +
            " rule has only type and " + payload_key;
    return false;
  }
  return true;
}

std::optional<RuleType> parse_type(const json& j) {
  const auto it = j.find("type");
  if (it == j.end() || !it->is_string()) return std::nullopt;
  const auto& name = it->get_ref<const std::string&>();
  if (name == "PERCENTAGE") return RuleType::percentage;
  if (name == "USER_LIST") return RuleType::user_list;
  return std::nullopt;
}

std::optional<Rule> parse_percentage(const json& j, std::string& error) {
  const auto it = j.find("value");
  // is_number() is false for strings ("50"), booleans and null. The negated range test also
  // rejects NaN and infinities, which a json built in code (not parsed from text) can hold.
  if (it == j.end() || !it->is_number() || !(it->get<double>() >= 0 && it->get<double>() <= 100)) {
    error = kValueError;
    return std::nullopt;
  }
  return percentage_rule(it->get<double>());
}

std::optional<Rule> parse_user_list(const json& j, std::string& error) {
  const auto it = j.find("values");
  if (it == j.end() || !it->is_array()) {
    error = kValuesError;
    return std::nullopt;
  }
  if (it->size() > kMaxUserListSize) {
    error = "rules.values must have at most " + std::to_string(kMaxUserListSize) + " user ids";
    return std::nullopt;
  }
  std::vector<std::string> users;
  users.reserve(it->size());
  for (const json& item : *it) {
    if (!item.is_string() || !is_valid_user_id(item.get_ref<const std::string&>())) {
      error = std::string(kValuesError) + "; item " + std::to_string(users.size()) + " is not";
      return std::nullopt;
    }
    users.push_back(item.get<std::string>());
  }
  return user_list_rule(std::move(users));
}

// 50.0 -> 50, so the canonical form matches what clients sent in the original service.
json percentage_to_json(double percentage) {
  const bool integral =
      std::isfinite(percentage) && std::trunc(percentage) == percentage && std::fabs(percentage) <= 1e15;
  if (integral) return json(static_cast<std::int64_t>(percentage));
  return json(percentage);
}

}  // namespace

std::optional<Rule> parse_rule(const json& j, std::string& error) {
  if (!j.is_object()) {
    error = R"(rules must be a JSON object, e.g. {"type":"PERCENTAGE","value":50})";
    return std::nullopt;
  }
  const std::optional<RuleType> type = parse_type(j);
  if (!type) {
    error = kTypeError;
    return std::nullopt;
  }
  const bool percentage = *type == RuleType::percentage;
  if (!has_only_keys(j, *type, percentage ? "value" : "values", error)) return std::nullopt;
  return percentage ? parse_percentage(j, error) : parse_user_list(j, error);
}

std::optional<Rule> parse_new_rule(const json& j, std::string& error) {
  auto rule = parse_rule(j, error);
  if (rule && rule->type == RuleType::percentage && std::trunc(rule->percentage) != rule->percentage) {
    error = "rules.value must be a whole number between 0 and 100 (50.0 is 50; finer splits are fractional "
            "rollouts of the flag model)";
    return std::nullopt;
  }
  return rule;
}

json to_json(const Rule& rule) {
  json out = json::object();
  out["type"] = std::string(to_string(rule.type));
  if (rule.type == RuleType::percentage) {
    out["value"] = percentage_to_json(rule.percentage);
  } else {
    out["values"] = rule.users.values();
  }
  return out;
}

}  // namespace toggle::rules
