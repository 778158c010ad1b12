// Amazon DynamoDB over its JSON 1.0 protocol (`X-Amz-Target: DynamoDB_20120810.<Op>`): attribute
// values, conditional writes (a failed condition is an answer, not an error), batched writes and
// reads that split by DynamoDB's limits and retry what DynamoDB left unprocessed, paginated
// queries (also on a global secondary index, also COUNT only), idempotent table creation.
//
//   toggle::cloud::DynamoDbClient db(config);   // AwsConfig from aws_config_from_env()
//   bool stored = db.put_item({.table = "events", .item = item,
//                              .condition_expression = "attribute_not_exists(event_id)"}, deadline);
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/cloud/aws_config.hpp"
#include "toggle/cloud/aws_json.hpp"

namespace toggle::cloud {

// A DynamoDB attribute value of one of the types S, N, BOOL, NULL, M, L. Numbers keep their
// decimal text, as DynamoDB sends them (38 significant digits do not fit a double).
class AttributeValue {
 public:
  enum class Type { null, string, number, boolean, map, list };
  using Map = std::map<std::string, AttributeValue>;
  using List = std::vector<AttributeValue>;

  AttributeValue() = default;  // NULL
  static AttributeValue string(std::string s);
  // Throws std::invalid_argument unless `decimal` is a number as DynamoDB writes them
  // ("-12", "3.25", "1E+3").
  static AttributeValue number(std::string_view decimal);
  static AttributeValue number(std::int64_t n);
  static AttributeValue number(double d);  // throws std::invalid_argument for NaN and infinities
  static AttributeValue boolean(bool b);
  static AttributeValue null() { return {}; }
  static AttributeValue map(Map m);
  static AttributeValue list(List l);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  // Accessors throw std::invalid_argument when the value is of another type.
  const std::string& as_string() const;
  const std::string& number_text() const;
  std::int64_t as_int64() const;  // also throws when the number is not an integer in range
  double as_double() const;
  bool as_bool() const;
  const Map& as_map() const;
  const List& as_list() const;
  // The member `name` of an M value, or nullptr (also when this is not an M).
  const AttributeValue* find(std::string_view name) const;

  friend bool operator==(const AttributeValue& a, const AttributeValue& b);

 private:
  Type type_ = Type::null;
  std::string text_;  // S, N
  bool bool_ = false;
  Map map_;
  List list_;
};

// An item, a key, or ExpressionAttributeValues: attribute name -> value.
using Item = AttributeValue::Map;

// DynamoDB's JSON form of a value: {"S":"x"}, {"N":"1"}, {"BOOL":true}, {"NULL":true},
// {"M":{...}}, {"L":[...]}. Decoding throws std::invalid_argument naming what is wrong (including
// the types this library does not handle: B, SS, NS, BS).
nlohmann::json to_dynamodb_json(const AttributeValue& value);
nlohmann::json to_dynamodb_json(const Item& item);
AttributeValue attribute_from_dynamodb_json(const nlohmann::json& json);
Item item_from_dynamodb_json(const nlohmann::json& json);
// Plain JSON <-> attribute values (as the AWS SDKs' document clients do): strings -> S, numbers ->
// N, booleans -> BOOL, null -> NULL, objects -> M, arrays -> L, and back (N as an integer when it
// is one that fits 64 bits, else as a double).
AttributeValue from_plain_json(const nlohmann::json& json);
nlohmann::json to_plain_json(const AttributeValue& value);

// DynamoDB's limits per call.
inline constexpr std::size_t kDynamoMaxBatchWrite = 25;
inline constexpr std::size_t kDynamoMaxBatchGet = 100;

struct PutItemRequest {
  std::string table;
  Item item;
  std::string condition_expression;          // empty: none; e.g. "attribute_not_exists(event_id)"
  std::map<std::string, std::string> names;  // ExpressionAttributeNames: "#t" -> "timestamp"
  Item values;                               // ExpressionAttributeValues: ":one" -> N 1
};

struct UpdateItemRequest {
  std::string table;
  Item key;
  std::string update_expression;  // e.g. "ADD true_count :n"
  std::string condition_expression;
  std::map<std::string, std::string> names;
  Item values;
  std::string return_values = "NONE";  // or ALL_NEW, UPDATED_NEW, ALL_OLD, UPDATED_OLD
};

// The result of one write among many (put_items, update_items).
struct WriteOutcome {
  enum class Status { written, condition_failed, failed };
  Status status = Status::failed;
  std::optional<AwsError> error;  // when failed
  Item attributes;                // UpdateItem's ReturnValues
};

// One request of a BatchWriteItem: put an item, or delete the item with a key.
struct WriteRequest {
  static WriteRequest put(Item item) { return {false, std::move(item)}; }
  static WriteRequest remove(Item key) { return {true, std::move(key)}; }
  bool is_delete = false;
  Item item;  // the item to put, or the key to delete
  friend bool operator==(const WriteRequest&, const WriteRequest&) = default;
};

struct QueryRequest {
  std::string table;
  std::string index_name;  // empty: the table itself
  std::string key_condition_expression;
  std::string filter_expression;
  std::string projection_expression;
  std::map<std::string, std::string> names;
  Item values;
  bool scan_index_forward = true;           // false: descending by sort key (e.g. newest first)
  std::optional<int> limit;                 // items evaluated per page (before the filter)
  std::optional<Item> exclusive_start_key;  // the previous page's last_evaluated_key
  bool count_only = false;                  // Select COUNT: no items, only counts
  bool consistent_read = false;             // not on a global secondary index
};

struct QueryResult {
  std::vector<Item> items;
  std::int64_t count = 0;                  // items returned (after the filter)
  std::int64_t scanned_count = 0;          // items evaluated
  std::optional<Item> last_evaluated_key;  // set when there may be more: pass it on as exclusive_start_key
};

struct GlobalSecondaryIndex {
  std::string name;
  std::string hash_key;
  std::string range_key;                        // empty: none
  std::string projection = "ALL";               // ALL, KEYS_ONLY or INCLUDE
  std::vector<std::string> non_key_attributes;  // for INCLUDE
};

// An on-demand (PAY_PER_REQUEST) table.
struct TableSpec {
  std::string name;
  std::map<std::string, std::string> attribute_types;  // every key attribute (table and indexes): "S", "N" or "B"
  std::string hash_key;
  std::string range_key;  // empty: none
  std::vector<GlobalSecondaryIndex> indexes;
};

struct TableDescription {
  std::string name;
  std::string status;                               // CREATING, ACTIVE, UPDATING, DELETING, ...
  std::int64_t item_count = 0;                      // approximate (DynamoDB updates it about every six hours)
  std::map<std::string, std::string> index_status;  // global secondary index -> its status
  bool active() const;                              // the table and all its indexes
};

// The DynamoDB endpoint and region of a configuration.
AwsService dynamodb_service(const AwsConfig& config);

// Thread-safe: one client may serve many threads at once (each thread keeps its own connections).
class DynamoDbClient {
 public:
  // With credentials of its own; see SqsClient for sharing one provider between clients.
  explicit DynamoDbClient(const AwsConfig& config, AwsCallOptions options = {});
  DynamoDbClient(AwsService service, std::shared_ptr<CredentialsProvider> credentials, AwsCallOptions options = {});

  // True when written, false when the condition failed (ConditionalCheckFailedException).
  // Throws AwsError otherwise. A retried conditional put whose first attempt was carried out but
  // not answered (a timeout) comes back as "condition failed": set max_attempts to 1 where that
  // difference matters.
  bool put_item(const PutItemRequest& request, Deadline deadline) const;
  // Many puts in parallel (curl multi). Never throws AwsError.
  std::vector<WriteOutcome> put_items(const std::vector<PutItemRequest>& requests, Deadline deadline) const;
  // The attributes asked for by return_values (empty for NONE), or nullopt when the condition
  // failed. Throws AwsError. Not idempotent for ADD: see put_item about retries.
  std::optional<Item> update_item(const UpdateItemRequest& request, Deadline deadline) const;
  std::vector<WriteOutcome> update_items(const std::vector<UpdateItemRequest>& requests, Deadline deadline) const;
  // The item with `key`, or nullopt. Throws AwsError.
  std::optional<Item> get_item(const std::string& table, const Item& key, Deadline deadline,
                               bool consistent_read = false) const;
  // Writes all requests in calls of 25 (in parallel), then retries what DynamoDB leaves
  // unprocessed, with backoff, until all is written. Identical requests are sent once (DynamoDB
  // rejects a call with two requests for one key, which the caller must otherwise avoid). Throws
  // AwsError when a call fails for good, or when the deadline passes first (code
  // "UnprocessedItems", retryable): puts and deletes are idempotent, so the caller may repeat it all.
  void batch_write_item(const std::string& table, const std::vector<WriteRequest>& requests, Deadline deadline) const;
  // The items with these keys that exist (in no particular order), read in calls of 100,
  // UnprocessedKeys retried like batch_write_item's. Throws AwsError.
  std::vector<Item> batch_get_item(const std::string& table, const std::vector<Item>& keys, Deadline deadline,
                                   bool consistent_read = false) const;
  // One page. Throws AwsError.
  QueryResult query(const QueryRequest& request, Deadline deadline) const;
  // One page of each query, sent in parallel; results in the order of `requests`. Throws the
  // first AwsError if any query fails.
  std::vector<QueryResult> query_all(const std::vector<QueryRequest>& requests, Deadline deadline) const;
  // Select COUNT over every page. Throws AwsError.
  std::int64_t query_count(QueryRequest request, Deadline deadline) const;
  // True when created, false when a table of that name exists already (ResourceInUseException),
  // whatever its schema. Throws AwsError.
  bool create_table(const TableSpec& spec, Deadline deadline) const;
  // Throws AwsError ("ResourceNotFoundException" when there is no such table).
  TableDescription describe_table(const std::string& table, Deadline deadline) const;
  // Polls describe_table until the table and its indexes are ACTIVE; throws AwsError ("Timeout")
  // if they are not by the deadline.
  TableDescription wait_until_active(const std::string& table, Deadline deadline) const;

  const AwsJsonClient& transport() const { return client_; }

 private:
  AwsJsonClient client_;
};

}  // namespace toggle::cloud
