#include "toggle/cloud/dynamodb.hpp"

#include <unordered_set>

#include "json_reply.hpp"
#include "retry.hpp"

namespace toggle::cloud {
namespace {

using nlohmann::json;

void add_expressions(json& request, const std::map<std::string, std::string>& names, const Item& values) {
  if (!names.empty()) request["ExpressionAttributeNames"] = names;
  if (!values.empty()) request["ExpressionAttributeValues"] = to_dynamodb_json(values);
}

json put_request(const PutItemRequest& r) {
  json request = {{"TableName", r.table}, {"Item", to_dynamodb_json(r.item)}};
  if (!r.condition_expression.empty()) request["ConditionExpression"] = r.condition_expression;
  add_expressions(request, r.names, r.values);
  return request;
}

json update_request(const UpdateItemRequest& r) {
  json request = {{"TableName", r.table},
                  {"Key", to_dynamodb_json(r.key)},
                  {"UpdateExpression", r.update_expression},
                  {"ReturnValues", r.return_values}};
  if (!r.condition_expression.empty()) request["ConditionExpression"] = r.condition_expression;
  add_expressions(request, r.names, r.values);
  return request;
}

// An item in a reply; AwsError "InvalidResponse" if it does not decode.
Item reply_item(const json& j, std::string_view operation) {
  try {
    return item_from_dynamodb_json(j);
  } catch (const std::invalid_argument& e) {
    throw AwsError(200, "InvalidResponse", std::string(operation) + ": " + e.what(), false);
  }
}

Item attributes_of(const std::string& body, std::string_view operation) {
  json reply = detail::parse_reply(body, operation);
  auto it = reply.find("Attributes");
  return it == reply.end() ? Item{} : reply_item(*it, operation);
}

WriteOutcome outcome_of(const AwsOutcome& outcome, std::string_view operation) {
  WriteOutcome out;
  if (outcome.error) {
    out.status =
        outcome.error->condition_failed() ? WriteOutcome::Status::condition_failed : WriteOutcome::Status::failed;
    if (out.status == WriteOutcome::Status::failed) out.error = outcome.error;
    return out;
  }
  try {
    out.attributes = attributes_of(outcome.body, operation);
    out.status = WriteOutcome::Status::written;
  } catch (const AwsError& e) {
    out.error = e;
  }
  return out;
}

// Sends `requests` (each one element of a batch operation's list) in calls of `per_call`, in
// parallel, then again what DynamoDB answers as unprocessed, with backoff, until none is left.
// `wrap` makes a call's body from its elements; `unprocessed` reads the elements left over from a
// reply; `received` is given each reply. Calls that fail retryably are tried again the same way.
template <class Wrap, class Unprocessed, class Received>
void run_batches(const AwsJsonClient& client, std::string_view operation, std::vector<json> requests,
                 std::size_t per_call, Deadline deadline, Wrap wrap, Unprocessed unprocessed, Received received) {
  const std::size_t total = requests.size();
  std::optional<AwsError> last_error;
  for (int round = 0; !requests.empty(); ++round) {
    auto plan = plan_batches(requests.size(), per_call);
    std::vector<std::string> bodies;
    for (const auto& batch : plan) {
      json list = json::array();
      for (auto i : batch) list.push_back(requests[i]);
      bodies.push_back(detail::to_text(wrap(std::move(list))));
    }
    auto outcomes = client.call_all(operation, std::move(bodies), deadline);
    std::vector<json> left;
    for (std::size_t b = 0; b < outcomes.size(); ++b) {
      if (outcomes[b].error) {
        if (!outcomes[b].error->retryable()) throw *outcomes[b].error;
        last_error = outcomes[b].error;
        for (auto i : plan[b]) left.push_back(std::move(requests[i]));
        continue;
      }
      json reply = detail::parse_reply(outcomes[b].body, operation);
      received(reply);
      for (auto& r : unprocessed(reply)) left.push_back(std::move(r));
    }
    if (left.empty()) return;
    if (!detail::pause(detail::backoff(std::chrono::milliseconds(50), std::chrono::milliseconds(2000), round),
                       deadline)) {
      throw AwsError(0, "UnprocessedItems",
                     std::string(operation) + ": " + std::to_string(left.size()) + " of " + std::to_string(total) +
                         " requests still unprocessed at the deadline" +
                         (last_error ? " (last error: " + std::string(last_error->what()) + ")" : ""),
                     true);
    }
    requests = std::move(left);
  }
}

}  // namespace

bool TableDescription::active() const {
  if (status != "ACTIVE") return false;
  for (const auto& [name, s] : index_status)
    if (s != "ACTIVE") return false;
  return true;
}

AwsService dynamodb_service(const AwsConfig& config) {
  return {"dynamodb", "DynamoDB_20120810", config.dynamodb_endpoint, config.region};
}

DynamoDbClient::DynamoDbClient(const AwsConfig& config, AwsCallOptions options)
    : DynamoDbClient(dynamodb_service(config), make_credentials_provider(config), options) {}

DynamoDbClient::DynamoDbClient(AwsService service, std::shared_ptr<CredentialsProvider> credentials,
                               AwsCallOptions options)
    : client_(std::move(service), std::move(credentials), options) {}

bool DynamoDbClient::put_item(const PutItemRequest& request, Deadline deadline) const {
  try {
    client_.call("PutItem", detail::to_text(put_request(request)), deadline);
    return true;
  } catch (const AwsError& e) {
    if (e.condition_failed()) return false;
    throw;
  }
}

std::vector<WriteOutcome> DynamoDbClient::put_items(const std::vector<PutItemRequest>& requests,
                                                    Deadline deadline) const {
  std::vector<std::string> bodies;
  for (const auto& r : requests) bodies.push_back(detail::to_text(put_request(r)));
  auto outcomes = client_.call_all("PutItem", std::move(bodies), deadline);
  std::vector<WriteOutcome> out;
  for (const auto& o : outcomes) out.push_back(outcome_of(o, "PutItem"));
  return out;
}

std::optional<Item> DynamoDbClient::update_item(const UpdateItemRequest& request, Deadline deadline) const {
  std::string body;
  try {
    body = client_.call("UpdateItem", detail::to_text(update_request(request)), deadline);
  } catch (const AwsError& e) {
    if (e.condition_failed()) return std::nullopt;
    throw;
  }
  return attributes_of(body, "UpdateItem");
}

std::vector<WriteOutcome> DynamoDbClient::update_items(const std::vector<UpdateItemRequest>& requests,
                                                       Deadline deadline) const {
  std::vector<std::string> bodies;
  for (const auto& r : requests) bodies.push_back(detail::to_text(update_request(r)));
  auto outcomes = client_.call_all("UpdateItem", std::move(bodies), deadline);
  std::vector<WriteOutcome> out;
  for (const auto& o : outcomes) out.push_back(outcome_of(o, "UpdateItem"));
  return out;
}

std::optional<Item> DynamoDbClient::get_item(const std::string& table, const Item& key, Deadline deadline,
                                             bool consistent_read) const {
  json request = {{"TableName", table}, {"Key", to_dynamodb_json(key)}, {"ConsistentRead", consistent_read}};
  json reply = detail::parse_reply(client_.call("GetItem", detail::to_text(request), deadline), "GetItem");
  auto it = reply.find("Item");
  if (it == reply.end()) return std::nullopt;
  return reply_item(*it, "GetItem");
}

void DynamoDbClient::batch_write_item(const std::string& table, const std::vector<WriteRequest>& requests,
                                      Deadline deadline) const {
  std::vector<json> elements;
  std::unordered_set<std::string> seen;
  for (const auto& r : requests) {
    json element = r.is_delete ? json{{"DeleteRequest", {{"Key", to_dynamodb_json(r.item)}}}}
                               : json{{"PutRequest", {{"Item", to_dynamodb_json(r.item)}}}};
    if (seen.insert(detail::to_text(element)).second) elements.push_back(std::move(element));
  }
  run_batches(
      client_, "BatchWriteItem", std::move(elements), kDynamoMaxBatchWrite, deadline,
      [&](json list) {
        return json{{"RequestItems", {{table, std::move(list)}}}};
      },
      [&](json& reply) {
        std::vector<json> left;
        auto items = reply.find("UnprocessedItems");
        if (items != reply.end() && items->is_object()) {
          auto mine = items->find(table);
          if (mine != items->end() && mine->is_array())
            for (auto& e : *mine) left.push_back(std::move(e));
        }
        return left;
      },
      [](const json&) {});
}

std::vector<Item> DynamoDbClient::batch_get_item(const std::string& table, const std::vector<Item>& keys,
                                                 Deadline deadline, bool consistent_read) const {
  std::vector<json> elements;
  std::unordered_set<std::string> seen;
  for (const auto& key : keys) {
    json element = to_dynamodb_json(key);
    if (seen.insert(detail::to_text(element)).second) elements.push_back(std::move(element));
  }
  std::vector<Item> found;
  run_batches(
      client_, "BatchGetItem", std::move(elements), kDynamoMaxBatchGet, deadline,
      [&](json list) {
        return json{{"RequestItems", {{table, {{"Keys", std::move(list)}, {"ConsistentRead", consistent_read}}}}}};
      },
      [&](json& reply) {
        std::vector<json> left;
        auto keys_left = reply.find("UnprocessedKeys");
        if (keys_left != reply.end() && keys_left->is_object()) {
          auto mine = keys_left->find(table);
          if (mine != keys_left->end() && mine->contains("Keys") && (*mine)["Keys"].is_array())
            for (auto& k : (*mine)["Keys"]) left.push_back(std::move(k));
        }
        return left;
      },
      [&](const json& reply) {
        auto responses = reply.find("Responses");
        if (responses == reply.end() || !responses->is_object()) return;
        auto mine = responses->find(table);
        if (mine == responses->end() || !mine->is_array()) return;
        for (const auto& item : *mine) found.push_back(reply_item(item, "BatchGetItem"));
      });
  return found;
}

namespace {

json query_body(const QueryRequest& r) {
  json request = {{"TableName", r.table},
                  {"KeyConditionExpression", r.key_condition_expression},
                  {"ScanIndexForward", r.scan_index_forward}};
  if (!r.index_name.empty()) request["IndexName"] = r.index_name;
  if (!r.filter_expression.empty()) request["FilterExpression"] = r.filter_expression;
  if (!r.projection_expression.empty()) request["ProjectionExpression"] = r.projection_expression;
  add_expressions(request, r.names, r.values);
  if (r.limit) request["Limit"] = *r.limit;
  if (r.exclusive_start_key) request["ExclusiveStartKey"] = to_dynamodb_json(*r.exclusive_start_key);
  if (r.count_only) request["Select"] = "COUNT";
  if (r.consistent_read) request["ConsistentRead"] = true;
  return request;
}

QueryResult query_result(const std::string& body) {
  json reply = detail::parse_reply(body, "Query");
  QueryResult result;
  if (auto items = reply.find("Items"); items != reply.end() && items->is_array())
    for (const auto& item : *items) result.items.push_back(reply_item(item, "Query"));
  result.count = reply.value("Count", static_cast<std::int64_t>(result.items.size()));
  result.scanned_count = reply.value("ScannedCount", result.count);
  if (auto last = reply.find("LastEvaluatedKey"); last != reply.end() && last->is_object() && !last->empty())
    result.last_evaluated_key = reply_item(*last, "Query");
  return result;
}

}  // namespace

QueryResult DynamoDbClient::query(const QueryRequest& r, Deadline deadline) const {
  return query_result(client_.call("Query", detail::to_text(query_body(r)), deadline));
}

std::vector<QueryResult> DynamoDbClient::query_all(const std::vector<QueryRequest>& requests, Deadline deadline) const {
  std::vector<std::string> bodies;
  for (const auto& r : requests) bodies.push_back(detail::to_text(query_body(r)));
  auto outcomes = client_.call_all("Query", std::move(bodies), deadline);
  std::vector<QueryResult> results;
  for (auto& outcome : outcomes) {
    if (outcome.error) throw *outcome.error;
    results.push_back(query_result(outcome.body));
  }
  return results;
}

std::int64_t DynamoDbClient::query_count(QueryRequest request, Deadline deadline) const {
  request.count_only = true;
  request.exclusive_start_key.reset();
  std::int64_t total = 0;
  for (;;) {
    QueryResult page = query(request, deadline);
    total += page.count;
    if (!page.last_evaluated_key) return total;
    request.exclusive_start_key = std::move(page.last_evaluated_key);
  }
}

bool DynamoDbClient::create_table(const TableSpec& spec, Deadline deadline) const {
  auto key_schema = [](const std::string& hash, const std::string& range) {
    json schema = json::array({{{"AttributeName", hash}, {"KeyType", "HASH"}}});
    if (!range.empty()) schema.push_back({{"AttributeName", range}, {"KeyType", "RANGE"}});
    return schema;
  };
  json definitions = json::array();
  for (const auto& [name, type] : spec.attribute_types)
    definitions.push_back({{"AttributeName", name}, {"AttributeType", type}});
  json request = {{"TableName", spec.name},
                  {"AttributeDefinitions", definitions},
                  {"KeySchema", key_schema(spec.hash_key, spec.range_key)},
                  {"BillingMode", "PAY_PER_REQUEST"}};
  if (!spec.indexes.empty()) {
    json indexes = json::array();
    for (const auto& index : spec.indexes) {
      json projection = {{"ProjectionType", index.projection}};
      if (!index.non_key_attributes.empty()) projection["NonKeyAttributes"] = index.non_key_attributes;
      indexes.push_back({{"IndexName", index.name},
                         {"KeySchema", key_schema(index.hash_key, index.range_key)},
                         {"Projection", projection}});
    }
    request["GlobalSecondaryIndexes"] = indexes;
  }
  try {
    client_.call("CreateTable", detail::to_text(request), deadline);
    return true;
  } catch (const AwsError& e) {
    if (e.code() == "ResourceInUseException") return false;
    throw;
  }
}

TableDescription DynamoDbClient::describe_table(const std::string& table, Deadline deadline) const {
  json reply = detail::parse_reply(client_.call("DescribeTable", detail::to_text(json{{"TableName", table}}), deadline),
                                   "DescribeTable");
  const json& t = reply.contains("Table") ? reply["Table"] : json::object();
  TableDescription d;
  d.name = detail::string_at(t, "TableName");
  d.status = detail::string_at(t, "TableStatus");
  d.item_count = t.value("ItemCount", std::int64_t{0});
  if (auto indexes = t.find("GlobalSecondaryIndexes"); indexes != t.end() && indexes->is_array())
    for (const auto& index : *indexes)
      d.index_status[detail::string_at(index, "IndexName")] = detail::string_at(index, "IndexStatus");
  if (d.status.empty()) throw AwsError(200, "InvalidResponse", "DescribeTable: the reply has no TableStatus", false);
  return d;
}

TableDescription DynamoDbClient::wait_until_active(const std::string& table, Deadline deadline) const {
  for (int round = 0;; ++round) {
    TableDescription d = describe_table(table, deadline);
    if (d.active()) return d;
    auto wait = std::chrono::milliseconds(std::min(100 << std::min(round, 5), 2000));
    if (!detail::pause(wait, deadline))
      throw AwsError(0, "Timeout",
                     "table " + table + " is " + d.status + ", not ACTIVE with all its indexes, at the deadline", true);
  }
}

}  // namespace toggle::cloud
