#include "toggle/cloud/cosmos_table_entity.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "cosmos_table_internal.hpp"

namespace toggle::cloud {
namespace {

using nlohmann::json;
namespace chrono = std::chrono;

constexpr std::string_view kTypeSuffix = "@odata.type";

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  for (unsigned char c : name) {
    if (!(std::isalnum(c) || c == '_') || c >= 0x80) return false;
  }
  return true;
}

bool is_system_property(std::string_view name) {
  return name == "PartitionKey" || name == "RowKey" || name == "Timestamp";
}

// Reads exactly `count` digits at `pos`.
bool read_digits(std::string_view text, std::size_t& pos, std::size_t count, int& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < count; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  pos += count;
  return true;
}

bool expect(std::string_view text, std::size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

std::int64_t parse_int64(const json& value, const std::string& name) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    std::int64_t out = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) return out;
  }
  throw std::invalid_argument("property " + name + " is annotated Edm.Int64 but is not a 64-bit integer");
}

double parse_double(const json& value, const std::string& name) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (s == "Infinity" || s == "INF") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity" || s == "-INF") return -std::numeric_limits<double>::infinity();
  }
  throw std::invalid_argument("property " + name + " is annotated Edm.Double but is not a number");
}

TableValue typed_value(const json& value, const std::string& type, const std::string& name) {
  if (type == "Edm.Int64") return parse_int64(value, name);
  if (type == "Edm.Int32") return parse_int64(value, name);
  if (type == "Edm.Double") return parse_double(value, name);
  if (type == "Edm.DateTime") {
    TableDateTime out;
    if (!value.is_string() || !parse_table_datetime(value.get_ref<const std::string&>(), out)) {
      throw std::invalid_argument("property " + name + " is annotated Edm.DateTime but is not an ISO 8601 UTC time");
    }
    return out;
  }
  if (type == "Edm.Boolean" && value.is_boolean()) return value.get<bool>();
  // Edm.String, Edm.Guid, Edm.Binary (base64): kept as their text.
  if (value.is_string()) return value.get<std::string>();
  throw std::invalid_argument("property " + name + " has type " + type + " and a value of JSON type " +
                              value.type_name());
}

TableValue untyped_value(const json& value, const std::string& name) {
  switch (value.type()) {
    case json::value_t::string:
      return value.get<std::string>();
    case json::value_t::boolean:
      return value.get<bool>();
    case json::value_t::number_integer:
      return value.get<std::int64_t>();
    case json::value_t::number_unsigned:
      if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) break;
      return value.get<std::int64_t>();
    case json::value_t::number_float:
      return value.get<double>();
    default:
      break;
  }
  throw std::invalid_argument("property " + name + " has an unsupported JSON value of type " + value.type_name());
}

}  // namespace

std::string format_table_datetime(TableDateTime value) {
  auto day = chrono::floor<chrono::days>(value.time);
  chrono::year_month_day ymd{day};
  chrono::hh_mm_ss<chrono::microseconds> hms{value.time - day};
  char buffer[48];
  // Seven fractional digits, as the service writes Edm.DateTime (100 ns ticks).
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02d.%06lld0Z", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<long long>(hms.subseconds().count()));
  return buffer;
}

bool parse_table_datetime(std::string_view text, TableDateTime& out) {
  std::size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!read_digits(text, pos, 4, year) || !expect(text, pos, '-') || !read_digits(text, pos, 2, month) ||
      !expect(text, pos, '-') || !read_digits(text, pos, 2, day) || !expect(text, pos, 'T') ||
      !read_digits(text, pos, 2, hour) || !expect(text, pos, ':') || !read_digits(text, pos, 2, minute) ||
      !expect(text, pos, ':') || !read_digits(text, pos, 2, second)) {
    return false;
  }
  std::int64_t micros = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (digits < 6) micros = micros * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return false;
    for (std::size_t i = digits; i < 6; ++i) micros *= 10;
  }
  std::string_view zone = text.substr(pos);
  if (zone != "Z" && zone != "+00:00") return false;
  chrono::year_month_day ymd{chrono::year(year), chrono::month(static_cast<unsigned>(month)),
                             chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) return false;
  out.time = chrono::sys_days(ymd) + chrono::hours(hour) + chrono::minutes(minute) + chrono::seconds(second) +
             chrono::microseconds(micros);
  return true;
}

std::string table_key_problem(std::string_view key) {
  if (key.size() > 1024) return "is longer than 1 KiB";
  for (unsigned char c : key) {
    if (c == '/' || c == '\\' || c == '#' || c == '?') return std::string("contains '") + static_cast<char>(c) + "'";
    if (c < 0x20 || c == 0x7f) return "contains a control character";
  }
  // U+0080..U+009F (C1 controls) are refused too: UTF-8 C2 80 .. C2 9F.
  for (std::size_t i = 0; i + 1 < key.size(); ++i) {
    if (static_cast<unsigned char>(key[i]) == 0xC2 && static_cast<unsigned char>(key[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(key[i + 1]) <= 0x9F) {
      return "contains a control character";
    }
  }
  return "";
}

std::string encode_table_entity(const TableEntity& entity) { return table_detail::entity_to_json(entity).dump(); }

TableEntity decode_table_entity(std::string_view text) {
  json parsed = json::parse(text, nullptr, false);
  if (parsed.is_discarded()) throw std::invalid_argument("entity is not valid JSON");
  return table_detail::entity_from_json(parsed);
}

namespace table_detail {

json entity_to_json(const TableEntity& entity) {
  for (auto [which, key] : {std::pair{"PartitionKey", &entity.partition_key}, std::pair{"RowKey", &entity.row_key}}) {
    if (auto problem = table_key_problem(*key); !problem.empty()) {
      throw std::invalid_argument(std::string(which) + " " + problem);
    }
  }
  json out = json::object();
  out["PartitionKey"] = entity.partition_key;
  out["RowKey"] = entity.row_key;
  for (const auto& [name, value] : entity.properties) {
    if (!is_identifier(name)) {
      throw std::invalid_argument("property name '" + name +
                                  "' is not an identifier (letters, digits, _; not starting with a digit; at most "
                                  "255 characters)");
    }
    if (is_system_property(name)) throw std::invalid_argument("property name " + name + " is a system property");
    std::visit(
        [&out, &name = name](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, bool>) {
            out[name] = v;
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            out[name] = std::to_string(v);
            out[name + std::string(kTypeSuffix)] = "Edm.Int64";
          } else if constexpr (std::is_same_v<T, double>) {
            if (!std::isfinite(v)) throw std::invalid_argument("property " + name + " is not a finite number");
            out[name] = v;
            out[name + std::string(kTypeSuffix)] = "Edm.Double";
          } else {
            out[name] = format_table_datetime(v);
            out[name + std::string(kTypeSuffix)] = "Edm.DateTime";
          }
        },
        value);
  }
  return out;
}

TableEntity entity_from_json(const json& object) {
  if (!object.is_object()) throw std::invalid_argument("entity is not a JSON object");
  TableEntity entity;
  auto pk = object.find("PartitionKey");
  auto rk = object.find("RowKey");
  if (pk == object.end() || !pk->is_string() || rk == object.end() || !rk->is_string()) {
    throw std::invalid_argument("entity lacks PartitionKey or RowKey");
  }
  entity.partition_key = pk->get<std::string>();
  entity.row_key = rk->get<std::string>();
  if (auto etag = object.find("odata.etag"); etag != object.end() && etag->is_string()) {
    entity.etag = etag->get<std::string>();
  }
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& name = it.key();
    if (name.rfind("odata.", 0) == 0 || name.find('@') != std::string::npos || is_system_property(name)) continue;
    if (it->is_null()) continue;  // a $select of a property the entity does not have
    auto annotation = object.find(name + std::string(kTypeSuffix));
    if (annotation != object.end() && annotation->is_string()) {
      entity.properties[name] = typed_value(*it, annotation->get<std::string>(), name);
    } else {
      entity.properties[name] = untyped_value(*it, name);
    }
  }
  return entity;
}

}  // namespace table_detail
}  // namespace toggle::cloud
