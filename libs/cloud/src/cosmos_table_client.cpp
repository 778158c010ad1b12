#include "toggle/cloud/cosmos_table_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>

#include "cosmos_table_internal.hpp"
#include "toggle/cloud/azure_signing.hpp"
#include "toggle/core/crypto.hpp"

namespace toggle::cloud {

using nlohmann::json;
using table_detail::check_table_name;
using table_detail::encode_uri_component;

namespace {

// The version of the REST protocol: the one the Azure SDKs for tables use, and that Cosmos DB's
// Table API and azurite accept.
constexpr const char* kApiVersion = "2019-02-02";
constexpr const char* kAccept = "application/json;odata=minimalmetadata";
constexpr std::size_t kMaxBatchOperations = 100;
constexpr std::size_t kMaxBatchBytes = 4 * 1024 * 1024;

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// One easy handle per thread, so that each thread keeps its connection alive without a lock.
CURL* thread_handle() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  thread_local std::unique_ptr<CURL, EasyDeleter> handle(curl_easy_init());
  if (!handle) throw TableError("Table API: curl_easy_init failed", 0, "", true);
  curl_easy_reset(handle.get());
  return handle.get();
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* out) {
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.remove_prefix(1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.remove_suffix(1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = std::string(value);
  }
  return size * n;
}

bool retryable_status(int status) { return status == 408 || status == 429 || status >= 500; }

}  // namespace

struct TableClient::Response {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

namespace {

std::string error_code(const std::string& body) {
  std::string code, message;
  table_detail::parse_error_body(body, code, message);
  return code;
}

}  // namespace

std::string odata_string(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

TableClient::TableClient(TableConnectionString connection, TableClientOptions options)
    : connection_(std::move(connection)), options_(options) {
  auto key = azure::base64_decode(connection_.key);
  if (!key) throw std::invalid_argument("Table account key is not valid base64");
  decoded_key_ = std::move(*key);
  auto scheme_end = connection_.endpoint.find("://");
  auto path_start = connection_.endpoint.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  if (path_start != std::string::npos) base_path_ = connection_.endpoint.substr(path_start);
}

TableClient::Response TableClient::call(const std::string& method, const std::string& path_and_query,
                                        const std::string& content_type, const std::string& body,
                                        const std::vector<std::pair<std::string, std::string>>& headers) const {
  std::string path = path_and_query.substr(0, path_and_query.find('?'));
  std::string date = azure::http_date(std::chrono::system_clock::now());
  // The path as sent, under the account: /<account><endpoint path><path>.
  std::string resource = "/" + connection_.account + base_path_ + path;
  std::string authorization =
      options_.scheme == TableAuthScheme::shared_key
          ? azure::table_authorization("SharedKey", connection_.account, decoded_key_,
                                       azure::table_shared_key_string_to_sign(method, "", content_type, date, resource))
          : azure::table_authorization("SharedKeyLite", connection_.account, decoded_key_,
                                       azure::table_shared_key_lite_string_to_sign(date, resource));

  CURL* c = thread_handle();
  Response response;
  std::string url = connection_.endpoint + path_and_query;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response.headers);
  curl_slist* list = nullptr;
  auto add = [&](const std::string& line) { list = curl_slist_append(list, line.c_str()); };
  add("x-ms-date: " + date);
  add(std::string("x-ms-version: ") + kApiVersion);
  add(std::string("Accept: ") + kAccept);
  add("DataServiceVersion: 3.0;NetFx");
  add("MaxDataServiceVersion: 3.0;NetFx");
  add("Authorization: " + authorization);
  add("Expect:");  // no 100-continue round trip
  for (const auto& [name, value] : headers) add(name + ": " + value);
  if (!body.empty()) {
    add("Content-Type: " + content_type);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (method == "GET" || method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  std::unique_ptr<curl_slist, SlistDeleter> owned(list);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);

  CURLcode code = curl_easy_perform(c);
  if (code != CURLE_OK) {
    bool permanent = code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL;
    throw TableError(
        "Table API " + method + " " + path + " at " + connection_.endpoint + " failed: " + curl_easy_strerror(code), 0,
        "", !permanent);
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

namespace {

// Throws the TableError for an unexpected reply.
[[noreturn]] void fail(const std::string& what, int status, const std::string& body) {
  std::string code, message;
  table_detail::parse_error_body(body, code, message);
  std::string text = "Table API " + what + " answered " + std::to_string(status);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  if (status == 403) text += " (check the account name and key)";
  throw TableError(text, status, code, retryable_status(status));
}

}  // namespace

bool TableClient::create_table(const std::string& table) const {
  check_table_name(table);
  auto r =
      call("POST", "/Tables", "application/json", json{{"TableName", table}}.dump(), {{"Prefer", "return-no-content"}});
  if (r.status == 201 || r.status == 204) return true;
  if (r.status == 409 && error_code(r.body) == "TableAlreadyExists") return false;
  fail("create table " + table, r.status, r.body);
}

bool TableClient::delete_table(const std::string& table) const {
  check_table_name(table);
  auto r = call("DELETE", "/Tables('" + table + "')", "", "", {});
  if (r.status == 204) return true;
  if (r.status == 404) return false;
  fail("delete table " + table, r.status, r.body);
}

std::string TableClient::entity_path(const std::string& table, const std::string& partition_key,
                                     const std::string& row_key) const {
  check_table_name(table);
  return "/" + table + table_detail::entity_key_segment(partition_key, row_key);
}

TableWriteResult TableClient::insert_entity(const std::string& table, const TableEntity& entity) const {
  check_table_name(table);
  auto r = call("POST", "/" + table, "application/json", table_detail::entity_to_json(entity).dump(),
                {{"Prefer", "return-no-content"}});
  if (r.status == 201 || r.status == 204) return {TableWrite::done, r.header("etag")};
  if (r.status == 409 && error_code(r.body) == "EntityAlreadyExists") return {TableWrite::already_exists, ""};
  fail("insert into " + table, r.status, r.body);
}

TableWriteResult TableClient::write(const std::string& method, const std::string& table, const TableEntity& entity,
                                    const char* if_match) const {
  std::string path = entity_path(table, entity.partition_key, entity.row_key);
  std::vector<std::pair<std::string, std::string>> headers;
  if (if_match) headers.emplace_back("If-Match", if_match);
  auto r = call(method, path, "application/json", table_detail::entity_to_json(entity).dump(), headers);
  if (r.status == 204 || r.status == 200 || r.status == 201) return {TableWrite::done, r.header("etag")};
  if (if_match && r.status == 412) return {TableWrite::precondition_failed, ""};
  if (if_match && r.status == 404 && error_code(r.body) != "TableNotFound") return {TableWrite::not_found, ""};
  fail(method + " in " + table, r.status, r.body);
}

TableWriteResult TableClient::upsert_entity(const std::string& table, const TableEntity& entity,
                                            TableUpdateMode mode) const {
  return write(mode == TableUpdateMode::merge ? "MERGE" : "PUT", table, entity, nullptr);
}

TableWriteResult TableClient::update_entity(const std::string& table, const TableEntity& entity,
                                            TableUpdateMode mode) const {
  return write(mode == TableUpdateMode::merge ? "MERGE" : "PUT", table, entity,
               entity.etag.empty() ? "*" : entity.etag.c_str());
}

TableWriteResult TableClient::delete_entity(const std::string& table, const std::string& partition_key,
                                            const std::string& row_key, const std::string& etag) const {
  auto r =
      call("DELETE", entity_path(table, partition_key, row_key), "", "", {{"If-Match", etag.empty() ? "*" : etag}});
  if (r.status == 204) return {TableWrite::done, ""};
  if (r.status == 412) return {TableWrite::precondition_failed, ""};
  if (r.status == 404 && error_code(r.body) != "TableNotFound") return {TableWrite::not_found, ""};
  fail("delete in " + table, r.status, r.body);
}

std::optional<TableEntity> TableClient::get_entity(const std::string& table, const std::string& partition_key,
                                                   const std::string& row_key) const {
  auto r = call("GET", entity_path(table, partition_key, row_key), "", "", {});
  if (r.status == 404 && error_code(r.body) != "TableNotFound") return std::nullopt;
  if (r.status != 200) fail("get from " + table, r.status, r.body);
  auto parsed = json::parse(r.body, nullptr, false);
  TableEntity entity;
  try {
    entity = table_detail::entity_from_json(parsed);
  } catch (const std::invalid_argument& e) {
    throw TableError("Table API get from " + table + ": unexpected reply: " + e.what(), r.status, "", false);
  }
  if (entity.etag.empty()) entity.etag = r.header("etag");
  return entity;
}

TablePage TableClient::query(const std::string& table, const TableQuery& query) const {
  check_table_name(table);
  if (query.top < 0 || query.top > 1000) throw std::invalid_argument("query top must be 0 to 1000");
  std::string params;
  auto param = [&](const char* name, const std::string& value) {
    params += (params.empty() ? "?" : "&") + std::string(name) + "=" + encode_uri_component(value);
  };
  if (!query.filter.empty()) param("$filter", query.filter);
  if (query.top > 0) param("$top", std::to_string(query.top));
  if (!query.select.empty()) {
    std::string fields = "PartitionKey,RowKey";  // an entity is not one without its keys
    for (const auto& name : query.select) {
      if (name != "PartitionKey" && name != "RowKey") fields += "," + name;
    }
    param("$select", fields);
  }
  if (!query.next_partition_key.empty()) param("NextPartitionKey", query.next_partition_key);
  if (!query.next_row_key.empty()) param("NextRowKey", query.next_row_key);
  auto r = call("GET", "/" + table + "()" + params, "", "", {});
  if (r.status != 200) fail("query " + table, r.status, r.body);
  auto parsed = json::parse(r.body, nullptr, false);
  auto value = parsed.is_object() ? parsed.find("value") : parsed.end();
  if (!parsed.is_object() || value == parsed.end() || !value->is_array()) {
    throw TableError("Table API query " + table + ": the reply has no \"value\" array", r.status, "", false);
  }
  TablePage page;
  try {
    for (const auto& item : *value) page.entities.push_back(table_detail::entity_from_json(item));
  } catch (const std::invalid_argument& e) {
    throw TableError("Table API query " + table + ": unexpected entity: " + e.what(), r.status, "", false);
  }
  page.next_partition_key = r.header("x-ms-continuation-nextpartitionkey");
  page.next_row_key = r.header("x-ms-continuation-nextrowkey");
  return page;
}

TableBatchResult TableClient::submit_batch(const std::string& table,
                                           const std::vector<TableOperation>& operations) const {
  check_table_name(table);
  if (operations.empty() || operations.size() > kMaxBatchOperations) {
    throw std::invalid_argument("a batch holds 1 to 100 operations, not " + std::to_string(operations.size()));
  }
  std::vector<const std::string*> row_keys;
  for (const auto& op : operations) {
    if (op.entity.partition_key != operations.front().entity.partition_key) {
      throw std::invalid_argument("a batch's operations must share one PartitionKey");
    }
    row_keys.push_back(&op.entity.row_key);
  }
  std::sort(row_keys.begin(), row_keys.end(), [](auto* a, auto* b) { return *a < *b; });
  if (std::adjacent_find(row_keys.begin(), row_keys.end(), [](auto* a, auto* b) { return *a == *b; }) !=
      row_keys.end()) {
    throw std::invalid_argument("a batch names a RowKey twice");
  }
  std::string batch = "batch_" + crypto::uuid_v4();
  std::string body = table_detail::build_batch_body(batch, "changeset_" + crypto::uuid_v4(),
                                                    connection_.endpoint + "/" + table, operations);
  if (body.size() > kMaxBatchBytes) throw std::invalid_argument("a batch's body is larger than 4 MiB");
  auto r = call("POST", "/$batch", "multipart/mixed; boundary=" + batch, body, {});
  if (r.status != 202) fail("batch in " + table, r.status, r.body);
  auto result = table_detail::parse_batch_response(r.body, operations.size());
  if (!result.committed && (result.status == 0 || retryable_status(result.status))) {
    // Not a refusal of one operation: the service was busy or the reply unreadable.
    throw TableError("Table API batch in " + table + " failed: " + std::to_string(result.status) + " " + result.code +
                         " " + result.message,
                     result.status, result.code, result.status != 0);
  }
  return result;
}

}  // namespace toggle::cloud
