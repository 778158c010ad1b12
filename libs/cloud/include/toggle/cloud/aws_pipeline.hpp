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
//   counts table (AWS_DYNAMODB_COUNTS_TABLE): per flag, one counter item per writing process
//     (flag_name, writer) with true_count / false_count, added to only for events whose
//     conditional put succeeded; and the directory of days that hold events (flag_name "#days").
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

  std::shared_ptr<const SqsClient> sqs_;
  std::string queue_url_;
  std::atomic<bool> failing_{false};
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

class DynamoEventStore final : public EventStore {
 public:
  DynamoEventStore(std::shared_ptr<const DynamoDbClient> db, std::string table, std::string counts_table);
  ~DynamoEventStore() override;  // a last try to write pending counts (5 s)

  // Writes each event with a conditional PutItem (in parallel, curl multi): "new unless an item
  // with this event_id exists that another write made" (attribute_not_exists(event_id) OR
  // write_token = this call's token), so a put retried after a lost reply still counts as new,
  // and a redelivered event as a duplicate. Then adds the new events to this process's counter
  // items, one UpdateItem per flag (see commit_counts). Constant round trips per batch: one for
  // the puts, one for the counters (and one for the day directory, once per day).
  std::size_t store(const std::vector<Event>& events) override;
  std::vector<Event> recent(const std::optional<std::string>& flag_name, std::size_t limit) override;
  Summary summary(const std::string& flag_name) override;
  // Both tables exist, ACTIVE, with their indexes (checked at most every 2 s).
  std::string readiness() override;

  // Events stored whose counts are not written yet (DynamoDB failed after the puts): retried in
  // the background and before the next batch's counts. Lost only if the process dies first.
  std::size_t uncounted() const { return uncounted_.load(); }
  // Writes pending counts now; false if some are still pending at the deadline.
  bool flush_counts(std::chrono::milliseconds timeout);

 private:
  struct Counts {
    std::int64_t seq = 0;
    std::map<std::string, Summary> per_flag;
    std::size_t events = 0;
  };
  void record_days(const std::vector<Event>& events, Deadline deadline);
  bool commit_counts(Deadline deadline);
  bool apply(const Counts& counts, Deadline deadline);
  void retry_counts();  // the background thread
  std::vector<Event> newest(const std::vector<std::string>& partitions, const char* index, std::size_t limit,
                            Deadline deadline);

  std::shared_ptr<const DynamoDbClient> db_;
  std::string table_, counts_table_;
  const std::string writer_;  // this process's counter items: one writer each, updated in seq order

  std::mutex days_mutex_;
  std::set<std::string> days_recorded_;

  std::mutex commit_mutex_;  // one counts commit at a time (the single writer, in seq order)
  std::deque<Counts> unresolved_;  // under commit_mutex_: committed with a seq, outcome not known yet
  std::int64_t last_seq_ = 0;      // under commit_mutex_
  std::mutex pending_mutex_;
  Counts pending_;  // counts of stores that have not been committed yet (group commit)
  std::atomic<std::size_t> uncounted_{0};
  std::atomic<bool> unresolved_warning_{false};  // logged once per outage

  std::mutex ready_mutex_;
  std::chrono::steady_clock::time_point ready_checked_{};
  std::string ready_problem_;

  std::mutex retry_mutex_;
  std::condition_variable retry_wake_;
  bool stopping_ = false;
  std::thread retry_thread_;
};

}  // namespace toggle::cloud
