// analytics-service's EventStore on the Azure Table API (Cosmos DB for Table; Azure Table Storage
// and azurite speak the same protocol). Two tables, made by create_cosmos_event_tables():
//
//   <table> (AZURE_COSMOS_TABLE, default EvaluationEvents): each event once, and per-flag counters
//     event     PartitionKey = flag_name
//               RowKey       = 15 digits of inverted milliseconds, "_", the event_id's bytes
//                              complemented in hex, "~" (event_keys::row_key)
//               properties   event_id, user_id, flag_name, result (Edm.Boolean), timestamp (the
//                            event's RFC 3339 text), variant and reason when set: the event's own
//                            fields under their own names, so any tool can read the table
//     counter   PartitionKey = flag_name, RowKey = "counts"
//               properties   true_count, false_count (Edm.Int64); variants, reasons: the events
//                            per variant served / reason given, as JSON text ({"blue":3,"red":1};
//                            only once some event named one; at most ~30,000 characters each:
//                            past that, names new to the flag count in true/false only) -- no
//                            event_id: tools that read events skip it
//   <table>ByTime: a copy of each event, for "newest events of all flags"
//     event     PartitionKey = the hour of its timestamp and one of 4 shards, "2026-11-30T13-2"
//               RowKey       = the same as in <table>; the same properties
//     day       PartitionKey = "days", RowKey = 7 digits of the inverted day, property day
//     hour      PartitionKey = "hours-2026-11-30", RowKey = 8 digits of the inverted hour, property hour
//               (the days and hours that hold events: a reader visits only those)
//
// Order: ascending RowKeys are newest first, by timestamp to the millisecond and then by event_id
// descending -- the order recent() promises (SQL's ORDER BY timestamp DESC, event_id DESC) -- and a
// span of time is a span of RowKeys. Cosmos DB for Table returns query results in no particular
// order (unlike Table Storage and azurite), so reads never rely on it: recent() reads windows of
// time backwards from now (RowKey ranges of one partition, or of an hour's 4 shards), each window
// whole, growing with what the last one held, and sorts what it read. "Newest events of one flag"
// reads that flag's partition only, about as many events as asked for (plus one window); "newest
// of all flags" reads the days partition, one day's hours, then those hours' shards. "Counts of
// one flag" is one point read of its counter. Nothing scans a table.
//
// Exactly once: the RowKey is a function of the event (its timestamp and event_id), so storing
// an event again is an insert that conflicts. Each flag's new events and its counter change go in
// ONE entity group transaction (up to 99 inserts and the counter's update with If-Match on its
// ETag, or its insert when it has none): the events and their count are committed together or
// not at all -- there is no window between storing and counting, whatever crashes. A conflict
// fails the whole transaction: an event stored before (409: the store finds which of the batch
// exist, drops them and resubmits the rest), or another writer's counter update (412: it reads
// the counter again and resubmits). So a redelivered or concurrently stored event is neither
// stored nor counted twice, across consumers. More than 99 events of a flag: several
// transactions in turn, each carrying the counter's new ETag to the next.
//
// The ByTime copies are written after that commit, for every event of the call, new or not, with
// insert-or-replace (idempotent: same keys, same content). If the store fails or the process dies
// between the commit and the copies, store() has not returned, the messages are not acknowledged
// and come back: the events are then found stored (not counted again) and their copies written.
// Until then, recent() of all flags lacks them (recent() of their flag and summary() have them).
// A day and an hour are registered (insert-or-replace) before any copy goes into the hour.
//
// Limits, honestly: an event_id is expected to name one event (the contract's UUIDs and
// content_event_id() do): a producer that reused an id with another timestamp or flag would get
// both stored (SQL would keep the first). All of a flag's events live in one logical partition:
// on Cosmos DB that holds at most 20 GB (tens of millions of events) and takes at most 10,000 RU/s
// (roughly 1,500 event writes/s), which caps one flag's history and store rate; beyond that
// the flag's partition would have to be split by time (counters per part, summed). An hour's
// copies are spread over 4 partitions (kByTimeShards; changing it is a migration). On Cosmos DB
// each table has its own throughput, unless the database's is shared. RowKeys are at most 145
// bytes (Cosmos allows 255), transactions at most 100 entities of some 0.5 KiB (Cosmos: 2 MB).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "toggle/cloud/cosmos_table_client.hpp"
#include "toggle/core/event_transport.hpp"

namespace toggle {
class WorkerPool;
}

namespace toggle::cloud {

// The time index's table: <table>ByTime.
std::string cosmos_time_table(const std::string& table);

struct CosmosTableCreated {
  std::string table;
  bool created = false;  // false: it existed already
};

// Creates the store's tables (<table> and <table>ByTime) if they do not exist; run again, it
// changes nothing. Throws std::invalid_argument for a name the service refuses (3-63 letters and
// digits, starting with a letter; <table>ByTime must fit too), TableError when the service fails.
std::vector<CosmosTableCreated> create_cosmos_event_tables(const TableConnectionString& connection,
                                                           const std::string& table, TableClientOptions options = {});

struct CosmosEventStoreOptions {
  // Requests in flight at once within one store() (one flag's transactions run in turn, different
  // flags and partitions side by side). 1: all on the calling thread.
  unsigned parallel_requests = 4;
  // Conflict rounds (another writer's counter update, events found stored) one transaction may
  // go through before store() gives up with Error{unavailable}.
  int max_conflict_rounds = 100;
  TableClientOptions table;
};

class CosmosEventStore final : public EventStore {
 public:
  // Throws std::invalid_argument for a bad table name (see create_cosmos_event_tables); connects
  // lazily (readiness() says whether the tables answer).
  CosmosEventStore(const TableConnectionString& connection, const std::string& table,
                   CosmosEventStoreOptions options = {});
  ~CosmosEventStore() override;

  // Returns how many events were new. Throws Error{unavailable} when the Table API cannot be
  // reached or refuses (no table, wrong key: the message says which), Error{invalid} for an event
  // without a flag name or with a timestamp that is not RFC 3339 in UTC. Events repeated within the call
  // are stored once (the first).
  std::size_t store(const std::vector<Event>& events) override;
  std::vector<Event> recent(const std::optional<std::string>& flag_name, std::size_t limit) override;
  Summary summary(const std::string& flag_name) override;
  // "" when both tables answer, else what is wrong.
  std::string readiness() override;

  // What the store went through since it was made (for metrics and tests).
  struct Stats {
    std::uint64_t transactions = 0;       // committed transactions of the events table
    std::uint64_t duplicates = 0;         // events found stored already (redeliveries, other writers)
    std::uint64_t counter_conflicts = 0;  // transactions resubmitted because another writer counted first
  };
  Stats stats() const { return {transactions_.load(), duplicates_.load(), counter_conflicts_.load()}; }

  const std::string& table() const { return table_; }
  const std::string& time_table() const { return time_table_; }

 private:
  struct Keyed;
  std::size_t store_flag(const std::string& flag, std::vector<const Keyed*> events);
  void store_copies(const std::vector<Keyed>& events);
  void register_hours(const std::vector<std::int64_t>& hours);
  // Every entity of a partition of `table` whose RowKey is in [from, to), all pages.
  std::function<std::vector<TableEntity>(const std::string&, const std::string&, const std::string&)> range_reader(
      const std::string& table) const;
  std::vector<Event> recent_of_flag(const std::string& flag, std::size_t limit);
  std::vector<Event> recent_of_all(std::size_t limit);
  // Runs the tasks on the pool (or inline) and rethrows the first failure.
  void run_all(std::vector<std::function<void()>> tasks);

  TableClient tables_;
  std::string table_, time_table_;
  CosmosEventStoreOptions options_;
  std::unique_ptr<WorkerPool> pool_;
  std::mutex hours_mutex_;
  std::vector<std::int64_t> registered_hours_;  // recently registered hours (a small cache)
  std::atomic<std::uint64_t> transactions_{0}, duplicates_{0}, counter_conflicts_{0};
  std::mutex counters_mutex_;
  std::map<std::string, TableEntity> counters_;  // by flag: each counter as last read or written, with its ETag
};

}  // namespace toggle::cloud
