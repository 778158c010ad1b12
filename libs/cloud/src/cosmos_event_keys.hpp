// The keys and entities of CosmosEventStore (see cosmos_event_store.hpp for the design), and its
// newest-first reader. Private to libs/cloud; pure code (the reader takes the query as a
// function), unit-tested on its own.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "toggle/cloud/cosmos_table_entity.hpp"
#include "toggle/core/event.hpp"

namespace toggle::cloud::event_keys {

// The newest instant a contract timestamp can name (9999-12-31T23:59:59.999Z) and the oldest
// (0000-01-01T00:00:00.000Z), in milliseconds since 1970.
inline constexpr std::int64_t kNewestMillis = 253402300799999;
inline constexpr std::int64_t kOldestMillis = -62167219200000;
inline constexpr std::int64_t kMillisPerHour = 3600000;
inline constexpr std::int64_t kMillisPerDay = 86400000;

// The counter entity's RowKey in a flag's partition. Every event RowKey is 15 digits first, and
// every range the reader asks for lies below "315569520000000", so the counter ('c') is never in one.
inline constexpr const char* kCounterRow = "counts";
// The time index: copies of each hour spread over this many partitions; the partition listing
// the days that hold events, and for each day the partition "hours-<day>" listing its hours.
inline constexpr int kByTimeShards = 4;
inline constexpr const char* kDaysPartition = "days";

// The event's time in milliseconds since 1970. Throws Error{invalid} unless its timestamp is an
// RFC 3339 date-time in UTC ("Z" or "+00:00"), as parse_event() leaves every event's.
std::int64_t millis_of(const Event& event);

// The first 15 characters of the RowKey of any event at `millis`: the digits of
// (kNewestMillis - millis). Defined for kOldestMillis - 1 .. kNewestMillis.
std::string row_prefix(std::int64_t millis);
// row_prefix(millis), "_", each byte of the event_id complemented (255 - b) in two lower-case hex
// digits, "~". Ascending RowKeys are then newest first, and within one millisecond by event_id
// descending (bytewise, as SQL's "C" order): complemented bytes sort backwards, and "~" after
// every hex digit puts a longer id before its own prefix. Events of (lo, hi] milliseconds are
// exactly the RowKeys in [row_prefix(hi), row_prefix(lo)).
std::string row_key(std::int64_t millis, const std::string& event_id);

// Hours and days since 1970 (floor); their text ("2026-11-30T13", "2026-11-30"); their RowKeys in
// the registry partitions, digits of (newest - value), so that sorted keys are newest first.
std::int64_t hour_of(std::int64_t millis);
std::int64_t day_of(std::int64_t millis);
std::string hour_text(std::int64_t hour);
std::string day_text(std::int64_t day);
std::string hour_row_key(std::int64_t hour);  // 8 digits
std::string day_row_key(std::int64_t day);    // 7 digits
// The hour / day a registry RowKey names; nullopt for another key.
std::optional<std::int64_t> hour_from_row_key(const std::string& row_key);
std::optional<std::int64_t> day_from_row_key(const std::string& row_key);
// The partition listing the hours of `day` that hold events: "hours-2026-11-30".
std::string hours_partition(std::int64_t day);

// Which of the hour's kByTimeShards partitions holds the event's copy (a hash of its id), and
// that partition's key: "2026-11-30T13-2".
int shard_of(const std::string& event_id);
std::string time_partition(std::int64_t hour, int shard);

// The entity for an event: the event's fields under their own names (variant and reason only
// when set).
TableEntity event_entity(std::string partition_key, std::string row_key, const Event& event);
// The event an entity holds; nullopt for an entity that is not one (no event_id).
std::optional<Event> event_from_entity(const TableEntity& entity);

// Every entity of `partition` whose RowKey is in [from, to), in any order (Cosmos DB for Table
// returns query results unsorted, unlike Table Storage).
using ReadRange = std::function<std::vector<TableEntity>(const std::string& partition, const std::string& from,
                                                         const std::string& to)>;

// The `wanted` events with the smallest RowKeys (the newest) in `partitions`, among those of
// millisecond oldest..newest, sorted by RowKey. Reads windows of time backwards from `anchor`
// (usually now; the first window also takes everything after it, up to `newest`), each window
// whole in every partition, sized from what the previous ones held, until it has `wanted` or
// reached `oldest`. It never reads more than one window beyond what it needs.
std::vector<TableEntity> read_newest(const ReadRange& read, const std::vector<std::string>& partitions,
                                     std::int64_t newest, std::int64_t oldest, std::int64_t anchor, std::size_t wanted);

}  // namespace toggle::cloud::event_keys
