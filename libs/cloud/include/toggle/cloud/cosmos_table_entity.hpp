// An entity of the Azure Table API (Cosmos DB Table API, Azure Table Storage, azurite): its two
// keys and a light map of typed properties, and its JSON form (OData v3, "minimal metadata").
//
//   TableEntity e{"flag-a", "0190c4f0-...", {{"user_id", "u1"}, {"result", true}, {"count", std::int64_t{3}}}};
//
// On the wire a string or a bool is a plain JSON value; an int64 travels as a string annotated
// "count@odata.type":"Edm.Int64" (JSON numbers lose precision above 2^53), a double as a number
// annotated Edm.Double, a date-time as an ISO 8601 string annotated Edm.DateTime. Reading, an
// unannotated JSON integer (Edm.Int32) becomes an int64; Edm.Guid and Edm.Binary stay strings.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace toggle::cloud {

// Edm.DateTime, UTC, to the microsecond (the service keeps 100 ns; the 7th digit is dropped).
struct TableDateTime {
  std::chrono::sys_time<std::chrono::microseconds> time;
  bool operator==(const TableDateTime&) const = default;
};

using TableValue = std::variant<std::string, bool, std::int64_t, double, TableDateTime>;

struct TableEntity {
  std::string partition_key;
  std::string row_key;
  std::map<std::string, TableValue> properties;
  // The entity's version: set by reads and writes, sent as If-Match by conditional updates.
  // Empty: unknown (an update then applies unconditionally).
  std::string etag;

  // The property `name` if it exists and holds a T, else nullptr.
  template <class T>
  const T* get(const std::string& name) const {
    auto it = properties.find(name);
    return it == properties.end() ? nullptr : std::get_if<T>(&it->second);
  }
};

// "2025-06-11T17:03:07.123456Z" and back (a fraction of 0 to 7 digits; `Z` or +00:00 required).
std::string format_table_datetime(TableDateTime value);
bool parse_table_datetime(std::string_view text, TableDateTime& out);

// The entity as the JSON body of an insert or update. Throws std::invalid_argument for what the
// service would refuse: a key with / \ # ? or control characters or over 1 KiB, a property name
// that is not an identifier or is a system name (PartitionKey, RowKey, Timestamp), a non-finite
// double.
std::string encode_table_entity(const TableEntity& entity);
// An entity from a response (a single entity, or one element of a query's "value"). `etag`
// comes from "odata.etag" when present. The system property Timestamp is left out. Throws
// std::invalid_argument when the JSON is not an entity.
TableEntity decode_table_entity(std::string_view json);

// Why `key` cannot be a PartitionKey / RowKey, or "" if it can.
std::string table_key_problem(std::string_view key);

}  // namespace toggle::cloud
