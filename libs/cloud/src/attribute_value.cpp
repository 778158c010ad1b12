// DynamoDB attribute values and their JSON forms.
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "toggle/cloud/dynamodb.hpp"

namespace toggle::cloud {
namespace {

using nlohmann::json;

const char* type_name(AttributeValue::Type t) {
  switch (t) {
    case AttributeValue::Type::null:
      return "NULL";
    case AttributeValue::Type::string:
      return "S";
    case AttributeValue::Type::number:
      return "N";
    case AttributeValue::Type::boolean:
      return "BOOL";
    case AttributeValue::Type::map:
      return "M";
    case AttributeValue::Type::list:
      return "L";
  }
  return "?";
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// -?(digits[.digits]|.digits)([eE][+-]?digits)? with at most 38 significant digits (DynamoDB's
// precision; it rejects more rather than rounding).
bool valid_number(std::string_view s) {
  std::size_t i = 0, significant = 0, mantissa_digits = 0;
  bool leading = true;
  if (i < s.size() && s[i] == '-') ++i;
  auto digits = [&] {
    for (; i < s.size() && is_digit(s[i]); ++i) {
      ++mantissa_digits;
      if (s[i] != '0') leading = false;
      if (!leading) ++significant;
    }
  };
  digits();
  if (i < s.size() && s[i] == '.') {
    ++i;
    digits();
  }
  if (mantissa_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exponent_digits = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) ++exponent_digits;
    if (exponent_digits == 0) return false;
  }
  return i == s.size() && significant <= 38;
}

std::optional<std::int64_t> integer_of(const std::string& text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return n;
}

}  // namespace

AttributeValue AttributeValue::string(std::string s) {
  AttributeValue v;
  v.type_ = Type::string;
  v.text_ = std::move(s);
  return v;
}

AttributeValue AttributeValue::number(std::string_view decimal) {
  if (!valid_number(decimal))
    throw std::invalid_argument("not a DynamoDB number: \"" + std::string(decimal.substr(0, 60)) + "\"");
  AttributeValue v;
  v.type_ = Type::number;
  v.text_ = std::string(decimal);
  return v;
}

AttributeValue AttributeValue::number(std::int64_t n) {
  AttributeValue v;
  v.type_ = Type::number;
  v.text_ = std::to_string(n);
  return v;
}

AttributeValue AttributeValue::number(double d) {
  if (!std::isfinite(d)) throw std::invalid_argument("DynamoDB numbers are finite: not NaN or infinity");
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d);  // shortest text that reads back as d
  AttributeValue v;
  v.type_ = Type::number;
  v.text_.assign(buffer, end);
  return v;
}

AttributeValue AttributeValue::boolean(bool b) {
  AttributeValue v;
  v.type_ = Type::boolean;
  v.bool_ = b;
  return v;
}

AttributeValue AttributeValue::map(Map m) {
  AttributeValue v;
  v.type_ = Type::map;
  v.map_ = std::move(m);
  return v;
}

AttributeValue AttributeValue::list(List l) {
  AttributeValue v;
  v.type_ = Type::list;
  v.list_ = std::move(l);
  return v;
}

#define TOGGLE_EXPECT(type) \
  if (type_ != (type))      \
    throw std::invalid_argument(std::string("the attribute is ") + type_name(type_) + ", not " + type_name(type));

const std::string& AttributeValue::as_string() const {
  TOGGLE_EXPECT(Type::string)
  return text_;
}

const std::string& AttributeValue::number_text() const {
  TOGGLE_EXPECT(Type::number)
  return text_;
}

std::int64_t AttributeValue::as_int64() const {
  TOGGLE_EXPECT(Type::number)
  auto n = integer_of(text_);
  if (!n) throw std::invalid_argument("the number " + text_ + " is not a 64-bit integer");
  return *n;
}

double AttributeValue::as_double() const {
  TOGGLE_EXPECT(Type::number)
  double d = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), d);
  if (ec != std::errc() || end != text_.data() + text_.size())
    throw std::invalid_argument("the number " + text_ + " does not fit a double");
  return d;
}

bool AttributeValue::as_bool() const {
  TOGGLE_EXPECT(Type::boolean)
  return bool_;
}

const AttributeValue::Map& AttributeValue::as_map() const {
  TOGGLE_EXPECT(Type::map)
  return map_;
}

const AttributeValue::List& AttributeValue::as_list() const {
  TOGGLE_EXPECT(Type::list)
  return list_;
}

#undef TOGGLE_EXPECT

const AttributeValue* AttributeValue::find(std::string_view name) const {
  if (type_ != Type::map) return nullptr;
  auto it = map_.find(std::string(name));
  return it == map_.end() ? nullptr : &it->second;
}

bool operator==(const AttributeValue& a, const AttributeValue& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case AttributeValue::Type::null:
      return true;
    case AttributeValue::Type::string:
    case AttributeValue::Type::number:
      return a.text_ == b.text_;
    case AttributeValue::Type::boolean:
      return a.bool_ == b.bool_;
    case AttributeValue::Type::map:
      return a.map_ == b.map_;
    case AttributeValue::Type::list:
      return a.list_ == b.list_;
  }
  return false;
}

json to_dynamodb_json(const AttributeValue& value) {
  switch (value.type()) {
    case AttributeValue::Type::null:
      return {{"NULL", true}};
    case AttributeValue::Type::string:
      return {{"S", value.as_string()}};
    case AttributeValue::Type::number:
      return {{"N", value.number_text()}};
    case AttributeValue::Type::boolean:
      return {{"BOOL", value.as_bool()}};
    case AttributeValue::Type::map:
      return {{"M", to_dynamodb_json(value.as_map())}};
    case AttributeValue::Type::list: {
      json list = json::array();
      for (const auto& v : value.as_list()) list.push_back(to_dynamodb_json(v));
      return {{"L", std::move(list)}};
    }
  }
  return nullptr;
}

json to_dynamodb_json(const Item& item) {
  json out = json::object();
  for (const auto& [name, value] : item) out[name] = to_dynamodb_json(value);
  return out;
}

AttributeValue attribute_from_dynamodb_json(const json& j) {
  if (!j.is_object() || j.size() != 1)
    throw std::invalid_argument("an attribute value is an object with one member (S, N, BOOL, NULL, M or L): " +
                                j.dump().substr(0, 80));
  const std::string& type = j.begin().key();
  const json& v = j.begin().value();
  if (type == "S" && v.is_string()) return AttributeValue::string(v.get<std::string>());
  if (type == "N" && v.is_string()) return AttributeValue::number(v.get_ref<const std::string&>());
  if (type == "BOOL" && v.is_boolean()) return AttributeValue::boolean(v.get<bool>());
  if (type == "NULL" && v.is_boolean()) return AttributeValue::null();
  if (type == "M" && v.is_object()) return AttributeValue::map(item_from_dynamodb_json(v));
  if (type == "L" && v.is_array()) {
    AttributeValue::List list;
    for (const auto& e : v) list.push_back(attribute_from_dynamodb_json(e));
    return AttributeValue::list(std::move(list));
  }
  if (type == "B" || type == "SS" || type == "NS" || type == "BS")
    throw std::invalid_argument("attribute type " + type + " is not supported");
  throw std::invalid_argument("not an attribute value: " + j.dump().substr(0, 80));
}

Item item_from_dynamodb_json(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("an item is a JSON object of attribute values");
  Item item;
  for (const auto& [name, value] : j.items()) item.emplace(name, attribute_from_dynamodb_json(value));
  return item;
}

AttributeValue from_plain_json(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return AttributeValue::null();
    case json::value_t::string:
      return AttributeValue::string(j.get<std::string>());
    case json::value_t::boolean:
      return AttributeValue::boolean(j.get<bool>());
    case json::value_t::number_integer:
      return AttributeValue::number(j.get<std::int64_t>());
    case json::value_t::number_unsigned:
      return AttributeValue::number(std::to_string(j.get<std::uint64_t>()));
    case json::value_t::number_float:
      return AttributeValue::number(j.get<double>());
    case json::value_t::object: {
      Item m;
      for (const auto& [name, value] : j.items()) m.emplace(name, from_plain_json(value));
      return AttributeValue::map(std::move(m));
    }
    case json::value_t::array: {
      AttributeValue::List l;
      for (const auto& e : j) l.push_back(from_plain_json(e));
      return AttributeValue::list(std::move(l));
    }
    default:
      throw std::invalid_argument("this JSON value has no DynamoDB attribute type");
  }
}

json to_plain_json(const AttributeValue& value) {
  switch (value.type()) {
    case AttributeValue::Type::null:
      return nullptr;
    case AttributeValue::Type::string:
      return value.as_string();
    case AttributeValue::Type::number:
      if (auto n = integer_of(value.number_text())) return *n;
      return value.as_double();
    case AttributeValue::Type::boolean:
      return value.as_bool();
    case AttributeValue::Type::map: {
      json out = json::object();
      for (const auto& [name, v] : value.as_map()) out[name] = to_plain_json(v);
      return out;
    }
    case AttributeValue::Type::list: {
      json out = json::array();
      for (const auto& v : value.as_list()) out.push_back(to_plain_json(v));
      return out;
    }
  }
  return nullptr;
}

}  // namespace toggle::cloud
