#include "toggle/cloud/cosmos_event_store.hpp"

#include <algorithm>
#include <latch>
#include <map>
#include <set>
#include <unordered_set>

#include "cosmos_event_keys.hpp"
#include "cosmos_table_internal.hpp"
#include "toggle/core/error.hpp"
#include "toggle/core/worker_pool.hpp"

namespace toggle::cloud {
namespace {

namespace keys = event_keys;

// A transaction holds at most 100 operations: the flag's counter and 99 events.
constexpr std::size_t kMaxBatchOperations = 100;
constexpr std::size_t kEventsPerTransaction = kMaxBatchOperations - 1;
// RowKeys per existence query: Azure Table Storage allows 15 comparisons in a $filter (the
// PartitionKey's and 14 RowKeys').
constexpr std::size_t kKeysPerLookup = 14;
// Hours remembered as registered, so that a busy store registers each hour about once.
constexpr std::size_t kRememberedHours = 64;
// Counters remembered with their ETags (all forgotten when there are more flags than this).
constexpr std::size_t kRememberedCounters = 10000;

// What a caller of the EventStore is told: the Table API cannot do it now. The message names the
// cause and, for a missing table, the cure.
Error unavailable(const TableError& e, const std::string& table) {
  std::string message = std::string("Cosmos DB Table API: ") + e.what();
  if (e.code() == "TableNotFound") {
    message = "Cosmos DB Table API: table " + table + " does not exist (scripts/init-cloud.sh azure creates it)";
  }
  return Error::unavailable("cosmos_unavailable", message);
}

// A transaction the service refused for a reason other than a conflict the store resolves.
Error batch_failed(const TableBatchResult& r, const std::string& what, const std::string& table) {
  if (r.code == "TableNotFound") return unavailable(TableError("", r.status, r.code, false), table);
  return Error::unavailable("cosmos_unavailable", "Cosmos DB Table API: " + what + " in " + table +
                                                      " failed: " + std::to_string(r.status) + " " + r.code +
                                                      (r.message.empty() ? "" : ": " + r.message));
}

std::string partition_filter(const std::string& partition_key) {
  return "PartitionKey eq " + odata_string(partition_key);
}

EventStore::Summary summary_of(const std::optional<TableEntity>& counter) {
  EventStore::Summary s;
  if (!counter) return s;
  if (auto* t = counter->get<std::int64_t>("true_count")) s.true_count = *t;
  if (auto* f = counter->get<std::int64_t>("false_count")) s.false_count = *f;
  return s;
}

}  // namespace

struct CosmosEventStore::Keyed {
  const Event* event;
  std::int64_t millis;
  std::string row_key;
};

std::string cosmos_time_table(const std::string& table) { return table + "ByTime"; }

std::vector<CosmosTableCreated> create_cosmos_event_tables(const TableConnectionString& connection,
                                                           const std::string& table, TableClientOptions options) {
  table_detail::check_table_name(table);
  table_detail::check_table_name(cosmos_time_table(table));
  TableClient tables(connection, options);
  std::vector<CosmosTableCreated> out;
  for (const std::string& name : {table, cosmos_time_table(table)}) out.push_back({name, tables.create_table(name)});
  return out;
}

CosmosEventStore::CosmosEventStore(const TableConnectionString& connection, const std::string& table,
                                   CosmosEventStoreOptions options)
    : tables_(connection, options.table), table_(table), time_table_(cosmos_time_table(table)), options_(options) {
  table_detail::check_table_name(table_);
  table_detail::check_table_name(time_table_);
  if (options_.parallel_requests > 1) pool_ = std::make_unique<WorkerPool>(options_.parallel_requests);
}

CosmosEventStore::~CosmosEventStore() = default;

void CosmosEventStore::run_all(std::vector<std::function<void()>> tasks) {
  if (!pool_ || tasks.size() <= 1) {
    for (auto& task : tasks) task();
    return;
  }
  std::latch done(static_cast<std::ptrdiff_t>(tasks.size()));
  std::mutex mutex;
  std::exception_ptr failure;
  for (auto& task : tasks) {
    pool_->post([&, task = std::move(task)] {
      try {
        task();
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
      }
      done.count_down();
    });
  }
  done.wait();
  if (failure) std::rethrow_exception(failure);
}

std::size_t CosmosEventStore::store(const std::vector<Event>& events) {
  // The keys first: a bad event fails the call before anything is written.
  std::vector<Keyed> keyed;
  keyed.reserve(events.size());
  std::unordered_set<std::string_view> ids;
  for (const Event& e : events) {
    if (e.event_id.empty()) throw Error::invalid("invalid_event", "an event without an event_id cannot be stored");
    if (e.flag_name.empty() || !table_key_problem(e.flag_name).empty()) {
      throw Error::invalid("invalid_event",
                           "event " + e.event_id + ": flag_name '" + e.flag_name + "' cannot be a partition key");
    }
    std::int64_t millis = keys::millis_of(e);
    if (!ids.insert(e.event_id).second) continue;  // twice in one call: stored once
    keyed.push_back({&e, millis, keys::row_key(millis, e.event_id)});
  }
  if (keyed.empty()) return 0;

  std::map<std::string, std::vector<const Keyed*>> by_flag;
  for (const Keyed& k : keyed) by_flag[k.event->flag_name].push_back(&k);
  std::vector<std::size_t> added(by_flag.size(), 0);
  std::vector<std::function<void()>> tasks;
  std::size_t i = 0;
  for (auto& [flag, list] : by_flag) {
    tasks.push_back([this, &added, i, &flag = flag, &list = list] { added[i] = store_flag(flag, list); });
    ++i;
  }
  try {
    run_all(std::move(tasks));
    store_copies(keyed);
  } catch (const TableError& e) {
    throw unavailable(e, table_);
  }
  std::size_t total = 0;
  for (std::size_t n : added) total += n;
  return total;
}

// One flag: its events in transactions of 99 with the counter's update; see the header.
std::size_t CosmosEventStore::store_flag(const std::string& flag, std::vector<const Keyed*> events) {
  // The counter as this store last wrote or read it: if another writer changed it since, the
  // transaction fails on its ETag (412) and the counter is read again. Saves a read per flag.
  std::optional<TableEntity> counter;
  {
    std::lock_guard lock(counters_mutex_);
    if (auto it = counters_.find(flag); it != counters_.end()) counter = it->second;
  }
  if (!counter) counter = tables_.get_entity(table_, flag, keys::kCounterRow);
  auto remember = [&] {
    std::lock_guard lock(counters_mutex_);
    if (counters_.size() >= kRememberedCounters) counters_.clear();
    if (counter) counters_[flag] = *counter;
  };
  std::size_t added = 0;
  std::size_t next = 0;
  while (next < events.size()) {
    std::vector<const Keyed*> chunk(events.begin() + next,
                                    events.begin() + std::min(events.size(), next + kEventsPerTransaction));
    next += chunk.size();
    for (int round = 1; !chunk.empty(); ++round) {
      if (round > options_.max_conflict_rounds) {
        throw Error::unavailable("cosmos_contention", "Cosmos DB Table API: flag " + flag +
                                                          ": still conflicting after " +
                                                          std::to_string(options_.max_conflict_rounds) + " attempts");
      }
      Summary totals = summary_of(counter);
      std::vector<TableOperation> ops;
      ops.reserve(chunk.size() + 1);
      for (const Keyed* k : chunk) {
        ops.push_back({TableOperation::Kind::insert, keys::event_entity(flag, k->row_key, *k->event)});
        (k->event->result ? totals.true_count : totals.false_count) += 1;
      }
      TableEntity count{flag, keys::kCounterRow, {}, counter ? counter->etag : ""};
      count.properties.emplace("true_count", totals.true_count);
      count.properties.emplace("false_count", totals.false_count);
      // With its ETag the update fails (412) if another writer counted meanwhile; without a
      // counter the insert fails (409) if another writer created it meanwhile.
      ops.push_back({counter ? TableOperation::Kind::update : TableOperation::Kind::insert, count});
      const int counter_index = static_cast<int>(ops.size()) - 1;

      TableBatchResult r = tables_.submit_batch(table_, ops);
      if (r.committed) {
        ++transactions_;
        added += chunk.size();
        count.etag = r.etags.back();
        counter = std::move(count);
        if (counter->etag.empty()) counter = tables_.get_entity(table_, flag, keys::kCounterRow);
        remember();
        chunk.clear();
        break;
      }
      bool event_conflict = r.status == 409 && r.failed_index >= 0 && r.failed_index < counter_index;
      bool counter_conflict =
          r.failed_index == counter_index && (r.status == 409 || r.status == 412 || r.status == 404);
      bool unknown_conflict = r.failed_index < 0 && (r.status == 409 || r.status == 412 || r.status == 404);
      if (r.code == "TableNotFound" || (!event_conflict && !counter_conflict && !unknown_conflict)) {
        throw batch_failed(r, "storing events of flag " + flag, table_);
      }
      if (counter_conflict || unknown_conflict) {
        ++counter_conflicts_;
        counter = tables_.get_entity(table_, flag, keys::kCounterRow);
        remember();
      }
      if (event_conflict || unknown_conflict) {
        // Stored before (a redelivery, or another consumer just now): find which, drop them.
        std::set<std::string> stored;
        if (event_conflict) stored.insert(chunk[r.failed_index]->row_key);
        for (std::size_t from = 0; from < chunk.size(); from += kKeysPerLookup) {
          std::string filter = partition_filter(flag) + " and (";
          for (std::size_t j = from; j < std::min(chunk.size(), from + kKeysPerLookup); ++j) {
            filter += (j == from ? "RowKey eq " : " or RowKey eq ") + odata_string(chunk[j]->row_key);
          }
          TableQuery query{filter + ")", 0, {"RowKey"}, "", ""};
          for (;;) {
            TablePage page = tables_.query(table_, query);
            for (const auto& e : page.entities) stored.insert(e.row_key);
            if (!page.more()) break;
            query.next_partition_key = page.next_partition_key;
            query.next_row_key = page.next_row_key;
          }
        }
        duplicates_ += std::erase_if(chunk, [&](const Keyed* k) { return stored.count(k->row_key) > 0; });
      }
    }
  }
  return added;
}

// The time index: every event of the call, new or stored before (see the header).
void CosmosEventStore::store_copies(const std::vector<Keyed>& events) {
  std::map<std::string, std::vector<const Keyed*>> by_partition;
  std::vector<std::int64_t> hours;
  for (const Keyed& k : events) {
    std::int64_t hour = keys::hour_of(k.millis);
    if (std::find(hours.begin(), hours.end(), hour) == hours.end()) hours.push_back(hour);
    by_partition[keys::time_partition(hour, keys::shard_of(k.event->event_id))].push_back(&k);
  }
  register_hours(hours);
  std::vector<std::function<void()>> tasks;
  for (auto& [partition, list] : by_partition) {
    for (std::size_t from = 0; from < list.size(); from += kMaxBatchOperations) {
      tasks.push_back([this, &partition = partition, &list = list, from] {
        std::vector<TableOperation> ops;
        for (std::size_t j = from; j < std::min(list.size(), from + kMaxBatchOperations); ++j) {
          ops.push_back(
              {TableOperation::Kind::upsert_replace, keys::event_entity(partition, list[j]->row_key, *list[j]->event)});
        }
        TableBatchResult r = tables_.submit_batch(time_table_, ops);
        if (!r.committed) throw batch_failed(r, "copying events", time_table_);
      });
    }
  }
  run_all(std::move(tasks));
}

void CosmosEventStore::register_hours(const std::vector<std::int64_t>& hours) {
  std::vector<std::int64_t> unknown;
  {
    std::lock_guard lock(hours_mutex_);
    for (std::int64_t h : hours) {
      if (std::find(registered_hours_.begin(), registered_hours_.end(), h) == registered_hours_.end()) {
        unknown.push_back(h);
      }
    }
  }
  for (std::size_t from = 0; from < unknown.size(); from += kMaxBatchOperations) {
    std::vector<TableOperation> ops;
    for (std::size_t j = from; j < std::min(unknown.size(), from + kMaxBatchOperations); ++j) {
      ops.push_back(
          {TableOperation::Kind::upsert_replace,
           {keys::kHoursPartition, keys::hour_row_key(unknown[j]), {{"hour", keys::hour_text(unknown[j])}}, ""}});
    }
    TableBatchResult r = tables_.submit_batch(time_table_, ops);
    if (!r.committed) throw batch_failed(r, "registering hours", time_table_);
  }
  std::lock_guard lock(hours_mutex_);
  for (std::int64_t h : unknown) {
    if (std::find(registered_hours_.begin(), registered_hours_.end(), h) != registered_hours_.end()) continue;
    if (registered_hours_.size() >= kRememberedHours) registered_hours_.erase(registered_hours_.begin());
    registered_hours_.push_back(h);
  }
}

std::vector<Event> CosmosEventStore::recent(const std::optional<std::string>& flag_name, std::size_t limit) {
  if (limit == 0) return {};
  try {
    return flag_name ? recent_of_flag(*flag_name, limit) : recent_of_all(limit);
  } catch (const TableError& e) {
    throw unavailable(e, flag_name ? table_ : time_table_);
  }
}

namespace {

// Up to `limit` entities of a query, in the service's (RowKey) order.
std::vector<TableEntity> first_entities(const TableClient& tables, const std::string& table, TableQuery query,
                                        std::size_t limit) {
  std::vector<TableEntity> out;
  while (out.size() < limit) {
    query.top = static_cast<int>(std::min<std::size_t>(limit - out.size(), 1000));
    TablePage page = tables.query(table, query);
    for (auto& e : page.entities) {
      if (out.size() < limit) out.push_back(std::move(e));
    }
    if (!page.more()) break;
    query.next_partition_key = page.next_partition_key;
    query.next_row_key = page.next_row_key;
  }
  return out;
}

}  // namespace

std::vector<Event> CosmosEventStore::recent_of_flag(const std::string& flag, std::size_t limit) {
  if (flag.empty() || !table_key_problem(flag).empty()) return {};  // no partition can have that name
  TableQuery query{partition_filter(flag) + " and RowKey lt " + odata_string(keys::kEventRowsBelow), 0, {}, "", ""};
  std::vector<Event> out;
  for (const TableEntity& entity : first_entities(tables_, table_, query, limit)) {
    if (auto event = keys::event_from_entity(entity)) out.push_back(std::move(*event));
  }
  return out;
}

// The newest hours first; in each hour, the first entities of its shards merged by RowKey.
std::vector<Event> CosmosEventStore::recent_of_all(std::size_t limit) {
  std::vector<Event> out;
  TableQuery hours_query{partition_filter(keys::kHoursPartition), 0, {"hour"}, "", ""};
  for (;;) {
    TablePage hours = tables_.query(time_table_, hours_query);
    for (const TableEntity& hour_entity : hours.entities) {
      auto hour = keys::hour_from_row_key(hour_entity.row_key);
      if (!hour) continue;
      std::size_t wanted = limit - out.size();
      std::vector<std::vector<TableEntity>> shards(keys::kByTimeShards);
      std::vector<std::function<void()>> tasks;
      for (int s = 0; s < keys::kByTimeShards; ++s) {
        tasks.push_back([&, s] {
          TableQuery q{partition_filter(keys::time_partition(*hour, s)), 0, {}, "", ""};
          shards[s] = first_entities(tables_, time_table_, q, wanted);
        });
      }
      run_all(std::move(tasks));
      std::vector<TableEntity> merged;
      for (auto& shard : shards) std::move(shard.begin(), shard.end(), std::back_inserter(merged));
      std::sort(merged.begin(), merged.end(),
                [](const TableEntity& a, const TableEntity& b) { return a.row_key < b.row_key; });
      for (const TableEntity& entity : merged) {
        if (out.size() >= limit) break;
        if (auto event = keys::event_from_entity(entity)) out.push_back(std::move(*event));
      }
      if (out.size() >= limit) return out;
    }
    if (!hours.more()) return out;
    hours_query.next_partition_key = hours.next_partition_key;
    hours_query.next_row_key = hours.next_row_key;
  }
}

EventStore::Summary CosmosEventStore::summary(const std::string& flag_name) {
  if (flag_name.empty() || !table_key_problem(flag_name).empty()) return {};
  try {
    return summary_of(tables_.get_entity(table_, flag_name, keys::kCounterRow));
  } catch (const TableError& e) {
    throw unavailable(e, table_);
  }
}

std::string CosmosEventStore::readiness() {
  for (const std::string& table : {table_, time_table_}) {
    try {
      // A point read of a key no event has: 404 "no such entity" means the table answers.
      tables_.get_entity(table, "readiness", "probe");
    } catch (const TableError& e) {
      return unavailable(e, table).what();
    }
  }
  return "";
}

}  // namespace toggle::cloud
