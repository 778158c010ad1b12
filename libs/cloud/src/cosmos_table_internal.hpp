// What the Table client's files share: entity JSON, names and keys in URLs, the $batch body and
// its response. Private to libs/cloud (nlohmann-json is included only by the library's .cpp files).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/cloud/cosmos_table_client.hpp"

namespace toggle::cloud::table_detail {

// Throws std::invalid_argument (see encode_table_entity).
nlohmann::json entity_to_json(const TableEntity& entity);
// Throws std::invalid_argument.
TableEntity entity_from_json(const nlohmann::json& json);

// Throws std::invalid_argument unless `table` is a valid table name (3-63 letters and digits,
// starting with a letter).
void check_table_name(const std::string& table);
// Percent-encodes as JavaScript's encodeURIComponent does (the Azure SDKs' choice for keys in
// paths): everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ).
std::string encode_uri_component(std::string_view text);
// "(PartitionKey='<pk>',RowKey='<rk>')", quotes in the keys doubled, then percent-encoded.
// Throws std::invalid_argument for a key the service refuses.
std::string entity_key_segment(const std::string& partition_key, const std::string& row_key);

// The body of POST /$batch: one changeset with `operations` (already checked), each addressed
// at `table_url` (absolute: the endpoint + "/" + table).
std::string build_batch_body(const std::string& batch_boundary, const std::string& changeset_boundary,
                             const std::string& table_url, const std::vector<TableOperation>& operations);
// The outcome from a 202 $batch response body: the operations' statuses in order; on failure the
// one error response, whose message starts with "<index>:" (Table Storage, azurite).
TableBatchResult parse_batch_response(std::string_view body, std::size_t operation_count);

// The service's error code and message from a JSON error body ({"odata.error":{"code":...,
// "message":{"value":...}}}); empty when the body is not one.
void parse_error_body(std::string_view body, std::string& code, std::string& message);

}  // namespace toggle::cloud::table_detail
