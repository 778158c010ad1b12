#include "toggle/cloud/cosmos_event_store.hpp"

#include <algorithm>
#include <chrono>
#include <latch>
#include <map>
#include <set>
#include <unordered_set>

#include "cosmos_event_keys.hpp"
#include "cosmos_table_internal.hpp"
#include "toggle/core/error.hpp"
#include "toggle/core/log.hpp"
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

// A counter's per-label counts travel as JSON text, one string property per kind ("variants":
// {"blue":3,…}, "reasons"): property names must be identifiers, labels need not be. A string
// property holds at most 64 KiB (32 Ki UTF-16 units, never more than the UTF-8 bytes): labels new
// to a counter are left out of it (counted in true/false only) once its text would pass this.
constexpr std::size_t kMaxLabelText = 30000;

std::string label_property(std::string_view kind) { return std::string(kind) + "s"; }

EventStore::Summary summary_of(const std::optional<TableEntity>& counter) {
  EventStore::Summary s;
  if (!counter) return s;
  if (auto* t = counter->get<std::int64_t>("true_count")) s.true_count = *t;
  if (auto* f = counter->get<std::int64_t>("false_count")) s.false_count = *f;
  for (auto [kind, counts] : s.labels()) {
    auto* text = counter->get<std::string>(label_property(kind));
    if (!text) continue;
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
    if (!j.is_object()) continue;
    for (const auto& [label, n] : j.items())
      if (n.is_number_integer()) (*counts)[label] = n.get<std::int64_t>();
  }
  return s;
}

// The counter's label properties for `totals`, within kMaxLabelText (see above).
void put_labels(TableEntity& counter, EventStore::Summary& totals, const EventStore::Summary& before) {
  for (auto [kind, counts] : totals.labels()) {
    if (counts->empty()) continue;
    auto text = [of_kind = counts] { return nlohmann::json(*of_kind).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
    std::string json = text();
    if (json.size() > kMaxLabelText) {
      const auto& known = kind == "variant" ? before.variants : before.reasons;
      std::size_t left_out = std::erase_if(*counts, [&](const auto& c) { return !known.count(c.first); });
      log::warn("too many distinct labels to count for one flag: the new ones are counted in true/false only",
                {{"flag", counter.partition_key}, {"kind", std::string(kind)}, {"left_out", left_out}});
      json = text();
    }
    counter.properties.emplace(label_property(kind), std::move(json));
  }
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
      const Summary before = summary_of(counter);
      Summary totals = before;
      std::vector<TableOperation> ops;
      ops.reserve(chunk.size() + 1);
      for (const Keyed* k : chunk) {
        ops.push_back({TableOperation::Kind::insert, keys::event_entity(flag, k->row_key, *k->event)});
        totals.count(*k->event);
      }
      TableEntity count{flag, keys::kCounterRow, {}, counter ? counter->etag : ""};
      count.properties.emplace("true_count", totals.true_count);
      count.properties.emplace("false_count", totals.false_count);
      put_labels(count, totals, before);
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

// Each new hour into the registry: its day into "days", the hour into "hours-<day>".
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
  if (unknown.empty()) return;
  std::map<std::string, std::vector<TableOperation>> by_partition;
  std::set<std::int64_t> days;
  for (std::int64_t h : unknown) {
    std::int64_t day = keys::day_of(h * keys::kMillisPerHour);
    if (days.insert(day).second) {
      by_partition[keys::kDaysPartition].push_back(
          {TableOperation::Kind::upsert_replace,
           {keys::kDaysPartition, keys::day_row_key(day), {{"day", keys::day_text(day)}}, ""}});
    }
    by_partition[keys::hours_partition(day)].push_back(
        {TableOperation::Kind::upsert_replace,
         {keys::hours_partition(day), keys::hour_row_key(h), {{"hour", keys::hour_text(h)}}, ""}});
  }
  for (auto& [partition, ops] : by_partition) {
    for (std::size_t from = 0; from < ops.size(); from += kMaxBatchOperations) {
      std::vector<TableOperation> batch(ops.begin() + from,
                                        ops.begin() + std::min(ops.size(), from + kMaxBatchOperations));
      TableBatchResult r = tables_.submit_batch(time_table_, batch);
      if (!r.committed) throw batch_failed(r, "registering hours", time_table_);
    }
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

// Every entity of a query, all pages.
std::vector<TableEntity> all_entities(const TableClient& tables, const std::string& table, TableQuery query) {
  std::vector<TableEntity> out;
  for (;;) {
    TablePage page = tables.query(table, query);
    std::move(page.entities.begin(), page.entities.end(), std::back_inserter(out));
    if (!page.more()) return out;
    query.next_partition_key = page.next_partition_key;
    query.next_row_key = page.next_row_key;
  }
}

std::int64_t now_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<Event> events_of(const std::vector<TableEntity>& entities) {
  std::vector<Event> out;
  out.reserve(entities.size());
  for (const TableEntity& entity : entities) {
    if (auto event = keys::event_from_entity(entity)) out.push_back(std::move(*event));
  }
  return out;
}

// The registry entries of a partition, newest first (the service returns them in any order).
template <class Parse>
std::vector<std::int64_t> registered(const TableClient& tables, const std::string& table, const std::string& partition,
                                     Parse parse) {
  std::vector<std::int64_t> out;
  for (const TableEntity& e : all_entities(tables, table, {partition_filter(partition), 0, {"RowKey"}, "", ""})) {
    if (auto value = parse(e.row_key)) out.push_back(*value);
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

}  // namespace

keys::ReadRange CosmosEventStore::range_reader(const std::string& table) const {
  return [this, table](const std::string& partition, const std::string& from, const std::string& to) {
    return all_entities(
        tables_, table,
        {partition_filter(partition) + " and RowKey ge " + odata_string(from) + " and RowKey lt " + odata_string(to),
         0,
         {},
         "",
         ""});
  };
}

// Windows of time back from now in the flag's partition (see read_newest).
std::vector<Event> CosmosEventStore::recent_of_flag(const std::string& flag, std::size_t limit) {
  if (flag.empty() || !table_key_problem(flag).empty()) return {};  // no partition can have that name
  return events_of(
      keys::read_newest(range_reader(table_), {flag}, keys::kNewestMillis, keys::kOldestMillis, now_millis(), limit));
}

// The days that hold events, newest first; in each, its hours, newest first; in each hour,
// windows of time across its shards.
std::vector<Event> CosmosEventStore::recent_of_all(std::size_t limit) {
  std::vector<Event> out;
  auto read = range_reader(time_table_);
  std::int64_t now = now_millis();
  for (std::int64_t day : registered(tables_, time_table_, keys::kDaysPartition, keys::day_from_row_key)) {
    for (std::int64_t hour : registered(tables_, time_table_, keys::hours_partition(day), keys::hour_from_row_key)) {
      std::vector<std::string> shards;
      for (int s = 0; s < keys::kByTimeShards; ++s) shards.push_back(keys::time_partition(hour, s));
      std::int64_t start = hour * keys::kMillisPerHour, end = start + keys::kMillisPerHour - 1;
      for (Event& e : events_of(keys::read_newest(read, shards, end, start, now, limit - out.size()))) {
        out.push_back(std::move(e));
      }
      if (out.size() >= limit) return out;
    }
  }
  return out;
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
