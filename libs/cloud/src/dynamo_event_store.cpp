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
                                   std::string counts_table, DynamoStoreOptions options)
    : db_(std::move(db)),
      table_(std::move(table)),
      counts_table_(std::move(counts_table)),
      options_(options),
      writer_("writer#" + crypto::uuid_v4()) {
  background_thread_ = std::thread([this] { background(); });
}

DynamoEventStore::~DynamoEventStore() {
  {
    std::lock_guard lock(background_mutex_);
    stopping_ = true;
  }
  background_wake_.notify_all();
  background_thread_.join();
  if (flush_counts(kCountsTimeout)) {
    delete_journals(deadline_after(kCountsTimeout));
  } else {
    log::warn("event counts not written at shutdown: another analytics process counts them from their journals",
              {{"events", uncounted()}, {"counts_table", counts_table_}});
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
  std::size_t added = 0;
  try {
    for (std::size_t i = 0; i < unique.size(); i += kMaxJournalEvents)
      added += store_chunk(unique.data() + i, unique.data() + std::min(unique.size(), i + kMaxJournalEvents), deadline);
  } catch (const std::invalid_argument& e) {
    // A request that cannot be made of these events (text that is not UTF-8): never storable.
    throw Error::invalid("event_not_storable", std::string("an event cannot be written to DynamoDB: ") + e.what());
  }
  return added;
}

namespace {

Item journal_key(std::int64_t seq, const std::string& token) {
  // Eight partitions: the journals of every process, at 20,000 events/s, stay well under a
  // partition's 1,000 writes/s.
  return {{"flag_name", AttributeValue::string(std::string("#journal#") + std::to_string(seq % 8))},
          {"part", AttributeValue::string(token)}};
}

std::string padded(std::int64_t seq) {
  char text[24];
  std::snprintf(text, sizeof text, "%012lld", static_cast<long long>(seq));
  return text;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// Round trip 1: the journal, the days these events fall on (listed before their events, so a
// reader walking the days never misses one), and the journals of batches already counted.
void DynamoEventStore::write_journal(const Batch& batch, const std::string& ids, const Event* begin, const Event* end,
                                     Deadline deadline) {
  std::vector<WriteRequest> writes;
  Item journal = journal_key(batch.seq, batch.token);
  journal["writer"] = AttributeValue::string(writer_);
  journal["seq"] = AttributeValue::number(batch.seq);
  journal["event_ids"] = AttributeValue::string(ids);
  journal["created_ms"] = AttributeValue::number(now_ms());
  writes.push_back(WriteRequest::put(std::move(journal)));
  std::vector<std::string> days;
  {
    std::lock_guard lock(days_mutex_);
    for (const Event* e = begin; e != end; ++e) {
      std::string day = day_of(*e);
      if (!days_recorded_.count(day) && std::find(days.begin(), days.end(), day) == days.end()) days.push_back(day);
    }
  }
  for (const auto& day : days)
    writes.push_back(WriteRequest::put(
        {{"flag_name", AttributeValue::string(kDaysDirectory)}, {"part", AttributeValue::string(day)}}));
  std::vector<Item> deletes;
  {
    std::lock_guard lock(batches_mutex_);
    std::size_t n = std::min(done_journals_.size(), kDynamoMaxBatchWrite - std::min(writes.size(), kDynamoMaxBatchWrite));
    deletes.assign(done_journals_.end() - static_cast<std::ptrdiff_t>(n), done_journals_.end());
    done_journals_.resize(done_journals_.size() - n);
  }
  for (const auto& key : deletes) writes.push_back(WriteRequest::remove(key));
  try {
    db_->batch_write_item(counts_table_, writes, deadline);
  } catch (const AwsError&) {
    std::lock_guard lock(batches_mutex_);
    done_journals_.insert(done_journals_.end(), deletes.begin(), deletes.end());
    throw;
  }
  std::lock_guard lock(days_mutex_);
  days_recorded_.insert(days.begin(), days.end());
}

std::size_t DynamoEventStore::store_chunk(const Event* begin, const Event* end, Deadline deadline) {
  std::int64_t seq;
  {
    std::lock_guard lock(batches_mutex_);
    seq = ++last_seq_;
    batches_[seq].seq = seq;
  }
  Batch batch;
  batch.seq = seq;
  batch.token = writer_ + "#" + padded(seq);
  // Whatever happens below, the batch ends up `written`, so that the batches after it can be counted.
  auto finish = [&] {
    std::lock_guard lock(batches_mutex_);
    batch.written = true;
    batches_[seq] = batch;
    uncounted_ += batch.events;
  };
  std::string ids;
  for (const Event* e = begin; e != end; ++e) ids += (e == begin ? "" : ",") + e->event_id;
  try {
    write_journal(batch, ids, begin, end, deadline);
  } catch (const AwsError& e) {
    finish();  // nothing written: nothing to count
    throw store_error(e, counts_table_);
  } catch (...) {
    finish();
    throw;
  }

  // Round trip 2: the events.
  const std::string stored_at = iso8601_now();
  std::vector<PutItemRequest> puts;
  puts.reserve(static_cast<std::size_t>(end - begin));
  for (const Event* e = begin; e != end; ++e)
    puts.push_back({table_, event_item(*e, batch.token, stored_at),
                    "attribute_not_exists(event_id) OR write_token = :token", {},
                    {{":token", AttributeValue::string(batch.token)}}});
  std::vector<WriteOutcome> outcomes;
  try {
    outcomes = db_->put_items(puts, deadline);
  } catch (...) {
    // Not sent (a request that cannot be made): read back, to be sure, when counting.
    for (const Event* e = begin; e != end; ++e) batch.unknown.push_back(e->event_id);
    finish();
    throw;
  }
  std::optional<AwsError> outage, refusal;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const Event& e = begin[i];
    switch (outcomes[i].status) {
      case WriteOutcome::Status::written:
        batch.per_flag[e.flag_name].count(e);
        ++batch.events;
        break;
      case WriteOutcome::Status::condition_failed:
        break;  // stored before: a redelivery
      case WriteOutcome::Status::failed:
        // Maybe written (a timeout after DynamoDB wrote it): read back before counting.
        batch.unknown.push_back(e.event_id);
        (outcomes[i].error->code() == "ValidationException" ? refusal : outage) = outcomes[i].error;
        break;
    }
  }
  std::size_t added = batch.events;
  finish();

  // Round trip 3: the counts (also of earlier batches still waiting, in order).
  if (!commit_counts(deadline_after(kCountsTimeout)) && !counts_failing_.exchange(true))
    log::warn("cannot write event counts now: retried in the background (journaled meanwhile)",
              {{"events", uncounted()}});
  if (outage) throw store_error(*outage, table_);
  if (refusal) throw store_error(*refusal, table_);
  return added;
}

// Counts the written batches in seq order, up to the first one still being written or failing.
bool DynamoEventStore::commit_counts(Deadline deadline) {
  std::lock_guard commit(commit_mutex_);
  for (;;) {
    Batch batch;
    {
      std::lock_guard lock(batches_mutex_);
      if (batches_.empty() || !batches_.begin()->second.written) break;
      batch = batches_.begin()->second;
    }
    if (!batch.unknown.empty()) {
      std::size_t found = 0;
      if (!read_back(batch.token, batch.unknown, batch.per_flag, found, deadline)) return false;
      batch.events += found;
      batch.unknown.clear();
      uncounted_ += found;
      std::lock_guard lock(batches_mutex_);
      batches_.begin()->second = batch;
    }
    if (!apply(writer_, batch.seq, batch.per_flag, deadline)) return false;
    std::lock_guard lock(batches_mutex_);
    uncounted_ -= batch.events;
    done_journals_.push_back(journal_key(batch.seq, batch.token));
    batches_.erase(batches_.begin());
  }
  if (uncounted() == 0 && counts_failing_.exchange(false)) log::info("event counts written again");
  return true;
}

// Which of `ids` a batch wrote (their items carry its token), added to `per_flag`.
bool DynamoEventStore::read_back(const std::string& token, const std::vector<std::string>& ids,
                                 std::map<std::string, Summary>& per_flag, std::size_t& events, Deadline deadline) {
  std::vector<Item> keys;
  for (const auto& id : ids) keys.push_back({{"event_id", AttributeValue::string(id)}});
  try {
    for (const auto& item : db_->batch_get_item(table_, keys, deadline, /*consistent_read=*/true)) {
      auto t = item.find("write_token");
      if (t == item.end() || t->second.type() != AttributeValue::Type::string || t->second.as_string() != token) continue;
      Event e = event_from_item(item);
      per_flag[e.flag_name].count(e);
      ++events;
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// Adds a batch's counts to `writer`'s counter items. Exact however often it is applied: the items
// remember the last batch applied ("if seq < :seq"), and a writer's batches are applied in order.
bool DynamoEventStore::apply(const std::string& writer, std::int64_t seq, const std::map<std::string, Summary>& per_flag,
                             Deadline deadline) {
  std::vector<UpdateItemRequest> updates;
  const std::string now = iso8601_now();
  for (const auto& [flag, s] : per_flag) {
    updates.push_back({counts_table_,
                       {{"flag_name", AttributeValue::string(flag)}, {"part", AttributeValue::string(writer)}},
                       "ADD true_count :t, false_count :f SET seq = :s, updated_at = :now",
                       "attribute_not_exists(seq) OR seq < :s",
                       {},
                       {{":t", AttributeValue::number(s.true_count)},
                        {":f", AttributeValue::number(s.false_count)},
                        {":s", AttributeValue::number(seq)},
                        {":now", AttributeValue::string(now)}}});
    // An item per label, not an attribute per label on the item above: however many variants a
    // batch names, every update stays far within DynamoDB's expression and item size limits.
    for (const auto& [kind_view, counts] : s.labels()) {
      const std::string kind(kind_view);
      for (const auto& [label, n] : *counts)
        updates.push_back({counts_table_,
                           {{"flag_name", AttributeValue::string(flag)},
                            {"part", AttributeValue::string(writer + "#" + kind + "#" + label)}},
                           "ADD events :n SET #kind = :label, seq = :s, updated_at = :now",
                           "attribute_not_exists(seq) OR seq < :s",
                           {{"#kind", kind}},
                           {{":n", AttributeValue::number(n)},
                            {":label", AttributeValue::string(label)},
                            {":s", AttributeValue::number(seq)},
                            {":now", AttributeValue::string(now)}}});
    }
  }
  bool all = true;
  for (const auto& outcome : db_->update_items(updates, deadline))
    all &= outcome.status != WriteOutcome::Status::failed;  // condition failed: applied before
  return all;
}

void DynamoEventStore::delete_journals(Deadline deadline) {
  std::vector<WriteRequest> deletes;
  {
    std::lock_guard lock(batches_mutex_);
    for (auto& key : done_journals_) deletes.push_back(WriteRequest::remove(std::move(key)));
    done_journals_.clear();
  }
  if (deletes.empty()) return;
  try {
    db_->batch_write_item(counts_table_, deletes, deadline);
  } catch (const AwsError&) {
    std::lock_guard lock(batches_mutex_);
    for (auto& d : deletes) done_journals_.push_back(std::move(d.item));
  }
}

bool DynamoEventStore::flush_counts(std::chrono::milliseconds timeout) {
  return commit_counts(deadline_after(timeout)) && uncounted() == 0;
}

std::size_t DynamoEventStore::recover_journals(std::chrono::milliseconds timeout) {
  Deadline deadline = deadline_after(timeout);
  struct Journal {
    std::int64_t seq, created_ms;
    Item item;
  };
  std::map<std::string, std::vector<Journal>> by_writer;
  std::size_t recovered = 0;
  try {
    std::vector<QueryRequest> queries;
    for (int n = 0; n < 8; ++n) {
      QueryRequest q;
      q.table = counts_table_;
      q.key_condition_expression = "flag_name = :j";
      q.values = {{":j", AttributeValue::string("#journal#" + std::to_string(n))}};
      q.consistent_read = true;
      queries.push_back(std::move(q));
    }
    // Each writer's journals are few (its batches in flight): one page each is plenty; the
    // next round reads the rest.
    for (auto& page : db_->query_all(queries, deadline))
      for (auto& item : page.items) {
        auto writer = item.find("writer");
        if (writer == item.end() || writer->second.type() != AttributeValue::Type::string) continue;
        if (writer->second.as_string() == writer_) continue;  // ours: counted by commit_counts
        by_writer[writer->second.as_string()].push_back(
            {number_or_zero(item, "seq"), number_or_zero(item, "created_ms"), std::move(item)});
      }
    const std::int64_t oldest_allowed = now_ms() - options_.recovery_age.count();
    for (auto& [writer, journals] : by_writer) {
      std::sort(journals.begin(), journals.end(), [](const Journal& a, const Journal& b) { return a.seq < b.seq; });
      for (const auto& j : journals) {
        if (j.created_ms > oldest_allowed) break;  // maybe still being written: later
        const std::string& token = j.item.at("part").as_string();
        std::vector<std::string> ids;
        const std::string& list = j.item.at("event_ids").as_string();
        for (std::size_t start = 0; start < list.size();) {
          std::size_t comma = std::min(list.find(',', start), list.size());
          ids.push_back(list.substr(start, comma - start));
          start = comma + 1;
        }
        std::map<std::string, Summary> per_flag;
        std::size_t events = 0;
        if (!read_back(token, ids, per_flag, events, deadline) || !apply(writer, j.seq, per_flag, deadline)) break;
        db_->batch_write_item(counts_table_, {WriteRequest::remove(journal_key(j.seq, token))}, deadline);
        ++recovered;
        log::info("counted a batch journaled by a stopped analytics process",
                  {{"writer", writer}, {"seq", j.seq}, {"events", events}});
      }
    }
  } catch (const std::exception& e) {
    log::debug("journal recovery interrupted", {{"error", e.what()}});
  }
  return recovered;
}

void DynamoEventStore::background() {
  std::unique_lock lock(background_mutex_);
  while (!stopping_) {
    background_wake_.wait_for(lock, options_.background_period, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    if (uncounted() > 0) commit_counts(deadline_after(kCountsTimeout));
    delete_journals(deadline_after(kCountsTimeout));
    recover_journals(kCountsTimeout);
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
        for (const auto& [kind, counts] : total.labels())
          if (auto label = item.find(std::string(kind));
              label != item.end() && label->second.type() == AttributeValue::Type::string)
            (*counts)[label->second.as_string()] += number_or_zero(item, "events");
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
