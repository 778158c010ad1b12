#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <unordered_set>

#include "toggle/cloud/aws_pipeline.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/error.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/text.hpp"

namespace toggle::cloud {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kStoreTimeout = milliseconds(10000);
constexpr auto kCountsTimeout = milliseconds(5000);
constexpr auto kReadTimeout = milliseconds(10000);

const std::string& string_attribute(const Item& item, const char* name) {
  auto it = item.find(name);
  if (it == item.end() || it->second.type() != AttributeValue::Type::string)
    throw std::invalid_argument(std::string("the item has no string attribute '") + name + "'");
  return it->second.as_string();
}

std::string shard_suffix(int shard) {
  char text[4];
  std::snprintf(text, sizeof text, "#%02d", shard);
  return text;
}

std::string day_of(const Event& e) { return e.timestamp.substr(0, 10); }

std::int64_t number_or_zero(const Item& item, const char* name) {
  auto it = item.find(name);
  return it != item.end() && it->second.type() == AttributeValue::Type::number ? it->second.as_int64() : 0;
}

// What a failed DynamoDB call means for the caller of the store.
Error store_error(const AwsError& e, const std::string& table) {
  // One event DynamoDB will never take (an item too large, say): not an outage.
  if (e.code() == "ValidationException")
    return Error::invalid("event_not_storable", "DynamoDB refused an event: " + e.message());
  if (e.code() == "ResourceNotFoundException")
    return Error::unavailable("store_unavailable",
                              "DynamoDB table " + table + " does not exist (create it: scripts/init-cloud.sh aws)");
  // Unreachable, throttled, credentials refused: the store cannot be used now.
  return Error::unavailable("store_unavailable", std::string("DynamoDB: ") + e.what());
}

}  // namespace

int event_shard(std::string_view event_id) {
  std::uint32_t hash = 2166136261u;  // FNV-1a
  for (unsigned char c : event_id) hash = (hash ^ c) * 16777619u;
  return static_cast<int>(hash % kEventShards);
}

std::string event_time_key(const Event& e) { return e.timestamp + "#" + e.event_id; }

Item event_item(const Event& e, const std::string& write_token, const std::string& stored_at) {
  std::string shard = shard_suffix(event_shard(e.event_id));
  Item item = {
      {"event_id", AttributeValue::string(e.event_id)},
      {"user_id", AttributeValue::string(e.user_id)},
      {"flag_name", AttributeValue::string(e.flag_name)},
      {"result", AttributeValue::boolean(e.result)},
      {"timestamp", AttributeValue::string(e.timestamp)},
      {"flag_shard", AttributeValue::string(e.flag_name + shard)},
      {"day_shard", AttributeValue::string(day_of(e) + shard)},
      {"time_key", AttributeValue::string(event_time_key(e))},
      {"write_token", AttributeValue::string(write_token)},
      {"stored_at", AttributeValue::string(stored_at)},
  };
  if (!e.variant.empty()) item["variant"] = AttributeValue::string(e.variant);
  if (!e.reason.empty()) item["reason"] = AttributeValue::string(e.reason);
  return item;
}

Event event_from_item(const Item& item) {
  Event e;
  e.event_id = string_attribute(item, "event_id");
  e.user_id = string_attribute(item, "user_id");
  e.flag_name = string_attribute(item, "flag_name");
  auto result = item.find("result");
  if (result == item.end() || result->second.type() != AttributeValue::Type::boolean)
    throw std::invalid_argument("the item has no boolean attribute 'result'");
  e.result = result->second.as_bool();
  e.timestamp = string_attribute(item, "timestamp");
  if (item.count("variant")) e.variant = string_attribute(item, "variant");
  if (item.count("reason")) e.reason = string_attribute(item, "reason");
  return e;
}

TableSpec events_table_spec(const std::string& table) {
  return {table,
          {{"event_id", "S"}, {"flag_shard", "S"}, {"day_shard", "S"}, {"time_key", "S"}},
          "event_id",
          "",
          {{kFlagIndex, "flag_shard", "time_key", "ALL", {}}, {kDayIndex, "day_shard", "time_key", "ALL", {}}}};
}

TableSpec counts_table_spec(const std::string& table) {
  return {table, {{"flag_name", "S"}, {"part", "S"}}, "flag_name", "part", {}};
}

DynamoEventStore::DynamoEventStore(std::shared_ptr<const DynamoDbClient> db, std::string table,
                                   std::string counts_table)
    : db_(std::move(db)),
      table_(std::move(table)),
      counts_table_(std::move(counts_table)),
      writer_("writer#" + crypto::uuid_v4()) {
  retry_thread_ = std::thread([this] { retry_counts(); });
}

DynamoEventStore::~DynamoEventStore() {
  {
    std::lock_guard lock(retry_mutex_);
    stopping_ = true;
  }
  retry_wake_.notify_all();
  retry_thread_.join();
  if (!flush_counts(kCountsTimeout))
    log::error("events stored but not counted: /summary misses them",
               {{"events", uncounted()}, {"counts_table", counts_table_}});
}

// The days that hold events, listed before their events are written: a reader walking the days
// never misses one (an empty day listed after a crash costs one empty query).
void DynamoEventStore::record_days(const std::vector<Event>& events, Deadline deadline) {
  std::vector<std::string> days;
  {
    std::lock_guard lock(days_mutex_);
    for (const auto& e : events) {
      std::string day = day_of(e);
      if (!days_recorded_.count(day) && std::find(days.begin(), days.end(), day) == days.end()) days.push_back(day);
    }
  }
  if (days.empty()) return;
  std::vector<PutItemRequest> puts;
  for (const auto& day : days)
    puts.push_back({counts_table_, {{"flag_name", AttributeValue::string(kDaysDirectory)}, {"part", AttributeValue::string(day)}}});
  auto outcomes = db_->put_items(puts, deadline);
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (outcomes[i].status != WriteOutcome::Status::written) throw store_error(*outcomes[i].error, counts_table_);
    std::lock_guard lock(days_mutex_);
    days_recorded_.insert(days[i]);
  }
}

std::size_t DynamoEventStore::store(const std::vector<Event>& events) {
  if (events.empty()) return 0;
  Deadline deadline = deadline_after(kStoreTimeout);
  // One write per event id: two puts of one id with one token would both count as new.
  std::vector<Event> unique;
  unique.reserve(events.size());
  std::unordered_set<std::string_view> ids;
  for (const auto& e : events)
    if (ids.insert(e.event_id).second) unique.push_back(e);
  record_days(unique, deadline);

  // The token tells this call's own write (repeated by a retry after a lost reply: still new)
  // from an earlier delivery's (a duplicate).
  const std::string token = crypto::uuid_v4(), stored_at = iso8601_now();
  std::vector<PutItemRequest> puts;
  puts.reserve(unique.size());
  for (const auto& e : unique)
    puts.push_back({table_, event_item(e, token, stored_at), "attribute_not_exists(event_id) OR write_token = :token",
                    {}, {{":token", AttributeValue::string(token)}}});
  auto outcomes = db_->put_items(puts, deadline);

  Counts added;
  std::optional<AwsError> outage, refusal;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    switch (outcomes[i].status) {
      case WriteOutcome::Status::written: {
        auto& s = added.per_flag[unique[i].flag_name];
        (unique[i].result ? s.true_count : s.false_count) += 1;
        ++added.events;
        break;
      }
      case WriteOutcome::Status::condition_failed:
        break;  // stored before: a redelivery
      case WriteOutcome::Status::failed:
        (outcomes[i].error->code() == "ValidationException" ? refusal : outage) = outcomes[i].error;
        break;
    }
  }
  if (added.events > 0) {
    {
      std::lock_guard lock(pending_mutex_);
      for (const auto& [flag, s] : added.per_flag) {
        pending_.per_flag[flag].true_count += s.true_count;
        pending_.per_flag[flag].false_count += s.false_count;
      }
      pending_.events += added.events;
      uncounted_ += added.events;
    }
    // The events are durable now; if their counts cannot be written, they stay pending (retried
    // in the background) rather than making the caller store the events again.
    if (!commit_counts(deadline_after(kCountsTimeout)) && unresolved_warning_.exchange(true) == false)
      log::warn("cannot write event counts now: retrying in the background", {{"events", uncounted()}});
  }
  if (outage) throw store_error(*outage, table_);
  if (refusal) throw store_error(*refusal, table_);
  return added.events;
}

// Adds each flag's new events to this process's counter item for the flag. Exact under retries:
// this process is the only writer of its items and commits one batch at a time, each with a
// sequence number its items remember ("ADD … SET seq = :s" if seq < :s), so a batch applied
// twice (a retry after a lost reply, a batch retried after a failure) is applied once. Stores
// running at the same time share a commit (their counts are merged while one is in flight).
bool DynamoEventStore::commit_counts(Deadline deadline) {
  std::lock_guard commit(commit_mutex_);
  while (!unresolved_.empty()) {
    if (!apply(unresolved_.front(), deadline)) return false;
    uncounted_ -= unresolved_.front().events;
    unresolved_.pop_front();
  }
  Counts batch;
  {
    std::lock_guard lock(pending_mutex_);
    if (pending_.per_flag.empty()) return true;
    std::swap(batch, pending_);
  }
  batch.seq = ++last_seq_;
  if (!apply(batch, deadline)) {
    unresolved_.push_back(std::move(batch));
    return false;
  }
  uncounted_ -= batch.events;
  if (unresolved_warning_.exchange(false)) log::info("event counts written again");
  return true;
}

bool DynamoEventStore::apply(const Counts& counts, Deadline deadline) {
  std::vector<UpdateItemRequest> updates;
  const std::string now = iso8601_now();
  for (const auto& [flag, s] : counts.per_flag)
    updates.push_back({counts_table_,
                       {{"flag_name", AttributeValue::string(flag)}, {"part", AttributeValue::string(writer_)}},
                       "ADD true_count :t, false_count :f SET seq = :s, updated_at = :now",
                       "attribute_not_exists(seq) OR seq < :s",
                       {},
                       {{":t", AttributeValue::number(s.true_count)},
                        {":f", AttributeValue::number(s.false_count)},
                        {":s", AttributeValue::number(counts.seq)},
                        {":now", AttributeValue::string(now)}}});
  bool all = true;
  for (const auto& outcome : db_->update_items(updates, deadline))
    all &= outcome.status != WriteOutcome::Status::failed;  // condition failed: applied before
  return all;
}

bool DynamoEventStore::flush_counts(std::chrono::milliseconds timeout) {
  return commit_counts(deadline_after(timeout)) && uncounted() == 0;
}

void DynamoEventStore::retry_counts() {
  std::unique_lock lock(retry_mutex_);
  while (!stopping_) {
    retry_wake_.wait_for(lock, std::chrono::seconds(5), [this] { return stopping_; });
    if (stopping_ || uncounted() == 0) continue;
    lock.unlock();
    commit_counts(deadline_after(kCountsTimeout));
    lock.lock();
  }
}

// The newest `limit` events across the partitions of an index: every partition is read newest
// first, a page at a time, all in parallel, and merged. A partition's next page is read only when
// its last item read might still be among the newest.
std::vector<Event> DynamoEventStore::newest(const std::vector<std::string>& partitions, const char* index,
                                            std::size_t limit, Deadline deadline) {
  struct Cursor {
    std::deque<Item> items;
    std::optional<Item> next;
    bool done = false;
  };
  const std::string hash_key = index == std::string(kFlagIndex) ? "flag_shard" : "day_shard";
  // A page a little over each partition's share: usually one round of queries does.
  const int page = static_cast<int>(std::min<std::size_t>(limit, limit * 2 / partitions.size() + 10));
  if (limit == 0) return {};
  std::vector<Cursor> cursors(partitions.size());
  std::vector<Event> out;
  while (out.size() < limit) {
    std::vector<QueryRequest> queries;
    std::vector<std::size_t> asked;
    for (std::size_t i = 0; i < cursors.size(); ++i) {
      if (!cursors[i].items.empty() || cursors[i].done) continue;
      QueryRequest q;
      q.table = table_;
      q.index_name = index;
      q.key_condition_expression = "#p = :p";
      q.names = {{"#p", hash_key}};
      q.values = {{":p", AttributeValue::string(partitions[i])}};
      q.scan_index_forward = false;
      q.limit = page;
      q.exclusive_start_key = cursors[i].next;
      queries.push_back(std::move(q));
      asked.push_back(i);
    }
    if (!queries.empty()) {
      auto pages = db_->query_all(queries, deadline);
      for (std::size_t k = 0; k < pages.size(); ++k) {
        Cursor& c = cursors[asked[k]];
        for (auto& item : pages[k].items) c.items.push_back(std::move(item));
        c.next = std::move(pages[k].last_evaluated_key);
        c.done = !c.next;
      }
    }
    Cursor* best = nullptr;
    std::string best_key;
    for (auto& c : cursors) {
      if (c.items.empty()) continue;
      auto key = c.items.front().find("time_key");
      std::string k = key != c.items.front().end() && key->second.type() == AttributeValue::Type::string
                          ? key->second.as_string()
                          : std::string();
      if (!best || k > best_key) best = &c, best_key = std::move(k);
    }
    if (!best) break;  // every partition read to its end
    try {
      out.push_back(event_from_item(best->items.front()));
    } catch (const std::invalid_argument& e) {
      log::warn("an item of the events table is not an event: skipped", {{"table", table_}, {"error", e.what()}});
    }
    best->items.pop_front();
  }
  return out;
}

std::vector<Event> DynamoEventStore::recent(const std::optional<std::string>& flag_name, std::size_t limit) {
  Deadline deadline = deadline_after(kReadTimeout);
  try {
    std::vector<std::string> partitions;
    if (flag_name) {
      for (int s = 0; s < kEventShards; ++s) partitions.push_back(*flag_name + shard_suffix(s));
      return newest(partitions, kFlagIndex, limit, deadline);
    }
    // All flags: the days that hold events, newest first, each merged across its partitions,
    // until `limit` events (timestamps are UTC, so a day's events are all newer than the day before's).
    std::vector<Event> out;
    QueryRequest days;
    days.table = counts_table_;
    days.key_condition_expression = "flag_name = :d";
    days.values = {{":d", AttributeValue::string(kDaysDirectory)}};
    days.scan_index_forward = false;
    days.limit = 30;
    days.consistent_read = true;
    for (;;) {
      QueryResult page = db_->query(days, deadline);
      for (const auto& day : page.items) {
        partitions.clear();
        for (int s = 0; s < kEventShards; ++s) partitions.push_back(string_attribute(day, "part") + shard_suffix(s));
        for (auto& e : newest(partitions, kDayIndex, limit - out.size(), deadline)) out.push_back(std::move(e));
        if (out.size() >= limit) return out;
      }
      if (!page.last_evaluated_key) return out;
      days.exclusive_start_key = std::move(page.last_evaluated_key);
    }
  } catch (const AwsError& e) {
    throw store_error(e, table_);
  }
}

EventStore::Summary DynamoEventStore::summary(const std::string& flag_name) {
  Deadline deadline = deadline_after(kReadTimeout);
  QueryRequest q;
  q.table = counts_table_;
  q.key_condition_expression = "flag_name = :f";
  q.values = {{":f", AttributeValue::string(flag_name)}};
  q.consistent_read = true;  // a count just written is seen
  Summary total;
  try {
    for (;;) {
      QueryResult page = db_->query(q, deadline);
      for (const auto& item : page.items) {
        total.true_count += number_or_zero(item, "true_count");
        total.false_count += number_or_zero(item, "false_count");
      }
      if (!page.last_evaluated_key) return total;
      q.exclusive_start_key = std::move(page.last_evaluated_key);
    }
  } catch (const AwsError& e) {
    throw store_error(e, counts_table_);
  }
}

std::string DynamoEventStore::readiness() {
  std::lock_guard lock(ready_mutex_);
  auto now = Clock::now();
  if (now - ready_checked_ < std::chrono::seconds(2)) return ready_problem_;
  ready_checked_ = now;
  ready_problem_.clear();
  Deadline deadline = deadline_after(milliseconds(1500));
  for (const auto& spec : {events_table_spec(table_), counts_table_spec(counts_table_)}) {
    try {
      TableDescription d = db_->describe_table(spec.name, deadline);
      std::string missing;
      for (const auto& index : spec.indexes)
        if (!d.index_status.count(index.name)) missing += (missing.empty() ? "" : ", ") + index.name;
      if (!missing.empty())
        ready_problem_ = "DynamoDB table " + spec.name + " has no index " + missing + " (see scripts/init-cloud.sh aws)";
      else if (!d.active())
        ready_problem_ = "DynamoDB table " + spec.name + " is " + d.status;
    } catch (const AwsError& e) {
      ready_problem_ = e.code() == "ResourceNotFoundException"
                           ? "DynamoDB table " + spec.name + " does not exist (create it: scripts/init-cloud.sh aws)"
                           : std::string("DynamoDB: ") + e.what();
    }
    if (!ready_problem_.empty()) break;
  }
  return ready_problem_;
}

}  // namespace toggle::cloud
