// A client of the Azure Table API REST protocol, as Cosmos DB's Table API, Azure Table Storage and
// azurite speak it (libcurl; SharedKey or SharedKeyLite signatures; x-ms-version 2019-02-02).
//
//   TableClient tables(parse_table_connection_string(getenv("AZURE_COSMOS_CONNECTION_STRING")));
//   tables.create_table("EvaluationEvents");                       // idempotent
//   auto r = tables.insert_entity("EvaluationEvents", entity);     // done, or already_exists
//
// Every call is blocking and ends within TableClientOptions::timeout. Outcomes a caller acts on
// (an entity that already exists, an ETag that no longer matches, a batch operation refused) are
// results; anything else throws TableError, which says whether the call may succeed if retried.
// Thread-safe: each thread keeps its own keep-alive connection.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/cloud/azure_connection_string.hpp"
#include "toggle/cloud/cosmos_table_entity.hpp"

namespace toggle::cloud {

class TableError : public std::runtime_error {
 public:
  TableError(const std::string& message, int status, std::string code, bool retryable)
      : std::runtime_error(message), status_(status), code_(std::move(code)), retryable_(retryable) {}
  // The HTTP status; 0 when there was no reply (unreachable, TLS failure, timed out).
  int status() const { return status_; }
  // The service's error code, e.g. "AuthenticationFailed", "TableNotFound"; "" without a reply.
  const std::string& code() const { return code_; }
  // True for failures that may pass on a later attempt: no reply, 408, 429 and 5xx (503 is how
  // Cosmos DB and Storage throttle). False for the caller's mistakes (400, 403, 404, ...).
  bool retryable() const { return retryable_; }

 private:
  int status_;
  std::string code_;
  bool retryable_;
};

enum class TableAuthScheme { shared_key, shared_key_lite };

struct TableClientOptions {
  std::chrono::milliseconds timeout{10000};  // the deadline of every call, connection included
  TableAuthScheme scheme = TableAuthScheme::shared_key;
};

enum class TableWrite {
  done,                 // written; TableWriteResult::etag is the entity's new ETag
  already_exists,       // insert: 409 EntityAlreadyExists (the entity was not changed)
  precondition_failed,  // conditional update / delete: 412, the ETag no longer matches
  not_found,            // conditional update / delete: 404, no such entity
};

struct TableWriteResult {
  TableWrite outcome = TableWrite::done;
  std::string etag;
  bool ok() const { return outcome == TableWrite::done; }
};

enum class TableUpdateMode {
  replace,  // the entity becomes exactly the given properties (PUT)
  merge,    // the given properties are set, the others kept (MERGE)
};

struct TableQuery {
  std::string filter;               // OData $filter, e.g. "PartitionKey eq " + odata_string(flag)
  int top = 0;                      // entities per page, 1..1000; 0: the service's default (1000)
  std::vector<std::string> select;  // properties to return (and the keys); empty: all
  // Continuation from the previous page (TablePage::next_*); empty for the first page.
  std::string next_partition_key;
  std::string next_row_key;
};

struct TablePage {
  std::vector<TableEntity> entities;
  std::string next_partition_key;  // both empty: this was the last page
  std::string next_row_key;
  // Note: a page may be empty and still have a continuation (the service stopped at its time
  // or size limit); keep asking while more() is true.
  bool more() const { return !next_partition_key.empty() || !next_row_key.empty(); }
};

// One operation of an entity group transaction ($batch).
struct TableOperation {
  enum class Kind {
    insert,          // fails the batch if the entity exists (409 EntityAlreadyExists)
    upsert_replace,  // insert or replace
    upsert_merge,    // insert or merge
    update,          // replace an existing entity; If-Match: entity.etag, or * when empty
    merge,           // merge into an existing entity; If-Match as for update
    remove,          // delete an existing entity; If-Match as for update (only the keys are used)
  };
  Kind kind = Kind::insert;
  TableEntity entity;
};

struct TableBatchResult {
  bool committed = false;  // every operation applied; otherwise none was (all or nothing)
  // When not committed: the operation the service refused (0-based; -1 if it did not say which),
  // its HTTP status (409 exists, 412 ETag mismatch, 404 missing, 400 invalid) and error code.
  int failed_index = -1;
  int status = 0;
  std::string code;
  std::string message;
  std::vector<std::string> etags;  // when committed: each operation's new ETag ("" for remove)
};

// `text` as an OData string literal for $filter: quotes doubled, wrapped in quotes.
std::string odata_string(std::string_view text);

class TableClient {
 public:
  explicit TableClient(TableConnectionString connection, TableClientOptions options = {});

  // Creates the table; false if it already existed (409 TableAlreadyExists).
  bool create_table(const std::string& table) const;
  // Deletes the table; false if there was none.
  bool delete_table(const std::string& table) const;

  // done or already_exists.
  TableWriteResult insert_entity(const std::string& table, const TableEntity& entity) const;
  // Insert or replace / merge, unconditionally: done.
  TableWriteResult upsert_entity(const std::string& table, const TableEntity& entity,
                                 TableUpdateMode mode = TableUpdateMode::replace) const;
  // An existing entity, only if its ETag is still entity.etag (any ETag when empty):
  // done, precondition_failed or not_found. The optimistic-concurrency step of a counter.
  TableWriteResult update_entity(const std::string& table, const TableEntity& entity,
                                 TableUpdateMode mode = TableUpdateMode::replace) const;
  // done, precondition_failed or not_found. `etag` empty: any version.
  TableWriteResult delete_entity(const std::string& table, const std::string& partition_key, const std::string& row_key,
                                 const std::string& etag = "") const;

  // The entity with its ETag, or std::nullopt when there is none.
  std::optional<TableEntity> get_entity(const std::string& table, const std::string& partition_key,
                                        const std::string& row_key) const;
  // One page of a query; see TablePage::more().
  TablePage query(const std::string& table, const TableQuery& query) const;

  // An entity group transaction: 1 to 100 operations on entities of ONE PartitionKey, each
  // RowKey once, applied all or nothing. Throws std::invalid_argument when the batch breaks these
  // rules (nothing is sent), TableError when the request as a whole fails.
  TableBatchResult submit_batch(const std::string& table, const std::vector<TableOperation>& operations) const;

  const std::string& account() const { return connection_.account; }
  const std::string& endpoint() const { return connection_.endpoint; }

 private:
  struct Response;
  Response call(const std::string& method, const std::string& path_and_query, const std::string& content_type,
                const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers) const;
  std::string entity_path(const std::string& table, const std::string& partition_key, const std::string& row_key) const;
  TableWriteResult write(const std::string& method, const std::string& table, const TableEntity& entity,
                         const char* if_match) const;

  TableConnectionString connection_;
  TableClientOptions options_;
  std::string decoded_key_;  // the account key, decoded once
  std::string base_path_;    // the endpoint's path: "" (Cosmos, Storage) or "/devstoreaccount1" (azurite)
};

}  // namespace toggle::cloud
