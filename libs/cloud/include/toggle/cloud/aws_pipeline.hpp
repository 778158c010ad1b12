// The event pipeline on AWS (CLOUD_PROVIDER=aws): the three seams of toggle/core/event_transport.hpp
// on SQS and DynamoDB.
//
//   evaluation-service --SqsEventPublisher--> SQS queue --SqsEventQueue--> analytics-service
//                                                                          --DynamoEventStore--> DynamoDB
//
// One SQS message per event, its body the event contract's JSON (append_json: the original's
// fields plus event_id, variant and reason). Messages a consumer cannot parse go to the queue's
// dead-letter queue at once; messages it cannot store go there after the queue's maxReceiveCount
// deliveries (the redrive policy).
//
// DynamoDB, two tables (created by create_aws_resources(), README "Pipeline modes"):
//   events table (AWS_DYNAMODB_TABLE), keyed by event_id as the seed's: one item per event with the
//     event's fields under their own names (event_id, user_id, flag_name, result, timestamp,
//     variant, reason) and the keys of two global secondary indexes, each spread over
//     kEventShards partitions by a hash of the event id so that no partition key takes more than
//     1/32 of the writes:
//       flag_time: flag_shard = "<flag_name>#<nn>", time_key = "<timestamp>#<event_id>"  newest of one flag
//       day_time:  day_shard  = "<yyyy-mm-dd>#<nn>", time_key                           newest of all flags
//   counts table (AWS_DYNAMODB_COUNTS_TABLE), keyed by (flag_name, part):
//     per flag, one counter item per writing process (part "writer#<uuid>") with true_count and
//     false_count, added to only for events whose conditional put succeeded (DynamoEventStore);
//     the days that hold events (flag_name "#days", part "2026-11-30"); the journals of batches
//     being written (flag_name "#journal#<n>").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "toggle/cloud/dynamodb.hpp"
#include "toggle/cloud/sqs.hpp"
#include "toggle/core/event_transport.hpp"

namespace toggle::cloud {

// ---- SQS --------------------------------------------------------------------------------------

// Sends each event as one message (SendMessageBatch, 10 per call, the calls in parallel). Entries
// that fail retryably are sent again until the timeout; then the batch is `failed` (the sender
// spools it and sends it all again later: a message sent twice is stored once, by event_id).
class SqsEventPublisher final : public EventPublisher {
 public:
  SqsEventPublisher(std::shared_ptr<const SqsClient> sqs, std::string queue_url);
  Outcome publish(const std::vector<Event>& batch, std::chrono::milliseconds timeout) override;
  std::string name() const override { return "sqs"; }
  // Only what will not heal by itself makes evaluation unready: credentials refused, no such
  // queue. An unreachable or throttling SQS does not: events wait in the spool meanwhile, and
  // evaluation keeps answering. Checked at most every 2 s.
  std::string readiness() override;

 private:
  Outcome failed(const std::string& error);
  void remember_sent(const std::vector<Event>& batch, const std::vector<std::size_t>& accepted);
  void forget_sent(const std::vector<Event>& batch);

  std::shared_ptr<const SqsClient> sqs_;
  std::string queue_url_;
  std::atomic<bool> failing_{false};
  std::mutex sent_mutex_;
  std::unordered_set<std::string> sent_before_;  // taken by SQS in a batch that failed as a whole
  std::deque<std::string> sent_order_;
  std::mutex ready_mutex_;
  std::chrono::steady_clock::time_point ready_checked_{};
  std::string ready_problem_;
};

struct SqsQueueOptions {
  // The lease of a received message (ReceiveMessage's VisibilityTimeout); messages held longer
  // than half of it have it extended (ChangeMessageVisibility), so a slow store never lets another
  // replica receive them meanwhile.
  int visibility_timeout_s = 60;
  // release(): the message comes back after this long.
  int release_delay_s = 5;
};

// Receives with long polls; acknowledges by deleting; releases by making the message visible
// again soon; dead-letters by sending the body to the queue's dead-letter queue (from its
// RedrivePolicy) and deleting it. Thread-safe: several consumer threads may share it.
class SqsEventQueue final : public EventQueue {
 public:
  SqsEventQueue(std::shared_ptr<const SqsClient> sqs, std::string queue_url, SqsQueueOptions options = {});
  ~SqsEventQueue() override;

  // `wait` is rounded down to whole seconds, at most 20 (SQS's longest poll).
  std::vector<Message> receive(std::size_t max, std::chrono::milliseconds wait) override;
  void ack(const std::vector<std::string>& handles) override;
  void release(const std::vector<std::string>& handles) override;
  void dead_letter(const std::string& handle, const std::string& reason) override;
  std::string name() const override { return "sqs"; }
  void interrupt() override;
  // ApproximateNumberOfMessages, refreshed every 5 s in the background (never on the caller's time).
  std::optional<std::int64_t> depth() override;
  // "" when GetQueueAttributes answered within the last check (at most every 2 s).
  std::string readiness() override;

  std::size_t in_flight() const;

 private:
  struct Held {
    std::string message_id, body;
    std::chrono::steady_clock::time_point leased_until;
  };
  void keep_leases();  // the background thread: lease extensions and the depth
  std::optional<Held> forget(const std::string& handle);
  std::string dead_letter_url();

  std::shared_ptr<const SqsClient> sqs_;
  std::string url_;
  SqsQueueOptions options_;
  std::atomic<bool> interrupted_{false};
  mutable std::mutex mutex_;
  std::map<std::string, Held> held_;  // by receipt handle: received, not yet acked/released
  std::mutex dlq_mutex_;
  std::string dlq_url_;
  std::atomic<std::int64_t> depth_{-1};
  std::mutex ready_mutex_;
  std::chrono::steady_clock::time_point ready_checked_{};
  std::string ready_problem_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread keeper_;
};

// ---- DynamoDB ---------------------------------------------------------------------------------

// Partitions of each index: 32 keeps every partition key under ~700 writes/s at 20,000 events/s
// (DynamoDB allows 1,000 per partition). Fixed: readers query exactly the shards writers use.
inline constexpr int kEventShards = 32;
inline constexpr const char* kFlagIndex = "flag_time";
inline constexpr const char* kDayIndex = "day_time";
inline constexpr const char* kDaysDirectory = "#days";  // not a valid flag name: no clash

// Which of the kEventShards an event goes to: FNV-1a of its id.
int event_shard(std::string_view event_id);
// "<timestamp>#<event_id>": sorts as the events are listed (timestamps are UTC, fixed width).
std::string event_time_key(const Event& event);
// The events table's item for `event`: its fields under their own names (variant and reason only
// when set), the index keys, `write_token` (see DynamoEventStore::store) and `stored_at`.
Item event_item(const Event& event, const std::string& write_token, const std::string& stored_at);
// The event an item holds; std::invalid_argument naming the attribute that is missing or wrong.
Event event_from_item(const Item& item);

// The spec of both tables, for create_aws_resources() and the readiness check.
TableSpec events_table_spec(const std::string& table);
TableSpec counts_table_spec(const std::string& table);

struct DynamoStoreOptions {
  // A stopped writer's journals are counted by the other processes once this old (a journal's
  // writes have ended by then: a store call gives up after 10 s).
  std::chrono::milliseconds recovery_age{30000};
  std::chrono::milliseconds background_period{10000};  // retries of counts, journal clean-up, recovery
};

// Exactly once, counts included, whatever fails and whenever a process dies. Each batch (a store
// call, in chunks of at most kMaxJournalEvents) is, in three round trips:
//   1. journaled: one item in the counts table lists its event ids, under a token of this process
//      ("<writer>#<seq>": `seq` counts this process's batches);
//   2. written: a conditional PutItem per event (in parallel, curl multi), "new unless an item with
//      this event_id exists that another batch wrote": attribute_not_exists(event_id) OR
//      write_token = <token>. A put retried after a lost reply is still new; a redelivered event
//      is a duplicate;
//   3. counted: for each flag, UpdateItem "ADD true_count :t, false_count :f SET seq = :seq" on
//      this process's counter item of the flag, if its seq < :seq; the same, "ADD events :n", on
//      its counter item of each variant and each reason the batch's new events of the flag named
//      (part "<writer>#variant#<name>" / "<writer>#reason#<name>", the name also in an attribute
//      `variant` / `reason`). Each item remembers the last batch applied to it and batches are
//      counted in seq order, so applying a batch twice (a retry, another process recovering it)
//      counts it once. summary() queries the flag's counter items (one partition) and adds them up.
// The journal is deleted (with the next batch's journal write) once counted. If the process dies
// between 1 and 3, its journals stay: another process (recover_journals, every 10 s) reads the
// events of each journal older than recovery_age, counts those that carry its token under the
// dead writer's counter items, in seq order, and deletes it.
class DynamoEventStore final : public EventStore {
 public:
  DynamoEventStore(std::shared_ptr<const DynamoDbClient> db, std::string table, std::string counts_table,
                   DynamoStoreOptions options = {});
  ~DynamoEventStore() override;  // a last try to write pending counts (5 s); the journals keep the rest

  std::size_t store(const std::vector<Event>& events) override;
  std::vector<Event> recent(const std::optional<std::string>& flag_name, std::size_t limit) override;
  Summary summary(const std::string& flag_name) override;
  // Both tables exist, ACTIVE, with their indexes (checked at most every 2 s).
  std::string readiness() override;

  // Events stored whose counts are not written yet (DynamoDB failed after the puts): retried in
  // the background and before the next batch's counts; journaled meanwhile.
  std::size_t uncounted() const { return uncounted_.load(); }
  // Writes pending counts now; false if some are still pending at the deadline.
  bool flush_counts(std::chrono::milliseconds timeout);
  // Counts the journaled batches of other writers older than recovery_age; returns how many.
  std::size_t recover_journals(std::chrono::milliseconds timeout);

  static constexpr std::size_t kMaxJournalEvents = 1000;  // ~40 KB of ids per journal item

 private:
  struct Batch {
    std::int64_t seq = 0;
    std::string token;
    bool written = false;                     // its puts are done (or abandoned): it can be counted
    std::map<std::string, Summary> per_flag;  // new events, known
    std::size_t events = 0;
    std::vector<std::string> unknown;         // event ids whose put outcome is unknown: read back
  };
  std::size_t store_chunk(const Event* begin, const Event* end, Deadline deadline);
  void write_journal(const Batch& batch, const std::string& ids, const Event* begin, const Event* end,
                     Deadline deadline);
  bool commit_counts(Deadline deadline);
  bool read_back(const std::string& token, const std::vector<std::string>& ids, std::map<std::string, Summary>& per_flag,
                 std::size_t& events, Deadline deadline);
  bool apply(const std::string& writer, std::int64_t seq, const std::map<std::string, Summary>& per_flag,
             Deadline deadline);
  void delete_journals(Deadline deadline);
  void background();
  std::vector<Event> newest(const std::vector<std::string>& partitions, const char* index, std::size_t limit,
                            Deadline deadline);

  std::shared_ptr<const DynamoDbClient> db_;
  std::string table_, counts_table_;
  DynamoStoreOptions options_;
  const std::string writer_;  // this process's counter items: one writer each, updated in seq order

  std::mutex days_mutex_;
  std::set<std::string> days_recorded_;

  std::mutex commit_mutex_;  // one commit at a time: batches are counted in seq order
  std::mutex batches_mutex_;
  std::map<std::int64_t, Batch> batches_;  // journaled, not counted yet
  std::int64_t last_seq_ = 0;
  std::vector<Item> done_journals_;        // counted: their journals can go
  std::atomic<std::size_t> uncounted_{0};
  std::atomic<bool> counts_failing_{false};  // logged once per outage

  std::mutex ready_mutex_;
  std::chrono::steady_clock::time_point ready_checked_{};
  std::string ready_problem_;

  std::mutex background_mutex_;
  std::condition_variable background_wake_;
  bool stopping_ = false;
  std::thread background_thread_;
};

}  // namespace toggle::cloud
