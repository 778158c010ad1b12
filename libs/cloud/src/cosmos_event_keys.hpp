// The keys and entities of CosmosEventStore (see cosmos_event_store.hpp for the design). Private
// to libs/cloud; pure functions, unit-tested on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "toggle/cloud/cosmos_table_entity.hpp"
#include "toggle/core/event.hpp"

namespace toggle::cloud::event_keys {

// The newest instant a contract timestamp can name (9999-12-31T23:59:59.999Z) and the oldest
// (0000-01-01T00:00:00.000Z), in milliseconds since 1970.
inline constexpr std::int64_t kNewestMillis = 253402300799999;
inline constexpr std::int64_t kOldestMillis = -62167219200000;
inline constexpr std::int64_t kMillisPerHour = 3600000;

// The counter entity's RowKey in a flag's partition; every event RowKey starts with a digit, so
// "RowKey lt ':'" (':' follows '9') selects the events and leaves the counter out.
inline constexpr const char* kCounterRow = "counts";
inline constexpr const char* kEventRowsBelow = ":";
// The time index: copies of each hour spread over this many partitions; and the partition that
// lists the hours holding events.
inline constexpr int kByTimeShards = 4;
inline constexpr const char* kHoursPartition = "hours";

// The event's time in milliseconds since 1970. Throws Error{invalid} unless its timestamp is an
// RFC 3339 date-time in UTC ("Z" or "+00:00"), as parse_event() leaves every event's.
std::int64_t millis_of(const Event& event);

// 15 digits of (kNewestMillis - millis), "_", each byte of the event_id complemented (255 - b)
// in two lower-case hex digits, "~". Ascending RowKeys are then newest first, and within one
// millisecond by event_id descending (bytewise, as SQL's "C" order): complemented bytes sort
// backwards, and "~" after every hex digit puts a longer id before its own prefix.
std::string row_key(std::int64_t millis, const std::string& event_id);

// Hours since 1970 (floor), its text "2026-11-30T13", and its RowKey in the hours partition:
// 8 digits of (newest hour - hour), so the newest hour comes first.
std::int64_t hour_of(std::int64_t millis);
std::string hour_text(std::int64_t hour);
std::string hour_row_key(std::int64_t hour);
// The hour a hours-partition RowKey names; nullopt for another key.
std::optional<std::int64_t> hour_from_row_key(const std::string& row_key);

// Which of the hour's kByTimeShards partitions holds the event's copy (a hash of its id), and
// that partition's key: "2026-11-30T13-2".
int shard_of(const std::string& event_id);
std::string time_partition(std::int64_t hour, int shard);

// The entity for an event: the event's fields under their own names (variant and reason only
// when set).
TableEntity event_entity(std::string partition_key, std::string row_key, const Event& event);
// The event an entity holds; nullopt for an entity that is not one (no event_id).
std::optional<Event> event_from_entity(const TableEntity& entity);

}  // namespace toggle::cloud::event_keys
