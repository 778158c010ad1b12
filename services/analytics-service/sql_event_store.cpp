#include "sql_event_store.hpp"

#include <map>

#include "toggle/core/migrate.hpp"
#include "toggle/core/text.hpp"

namespace toggle::analytics {
namespace {

const std::vector<sql::Migration> kMigrations = {
    {1,
     R"(CREATE TABLE events (
          event_id TEXT PRIMARY KEY,
          user_id TEXT NOT NULL,
          flag_name TEXT NOT NULL,
          result INTEGER NOT NULL,
          timestamp TEXT NOT NULL,
          received_at TEXT NOT NULL);
        CREATE INDEX events_flag_time ON events (flag_name, timestamp);
        CREATE INDEX events_time ON events (timestamp);
        CREATE TABLE flag_counts (
          flag_name TEXT PRIMARY KEY,
          true_count INTEGER NOT NULL DEFAULT 0,
          false_count INTEGER NOT NULL DEFAULT 0);)",
     // COLLATE "C": ordered by bytes, as SQLite does, whatever the database's locale.
     R"(CREATE TABLE IF NOT EXISTS events (
          event_id VARCHAR(64) COLLATE "C" PRIMARY KEY,
          user_id VARCHAR(256) NOT NULL,
          flag_name VARCHAR(100) NOT NULL,
          result BOOLEAN NOT NULL,
          timestamp VARCHAR(40) COLLATE "C" NOT NULL,
          received_at VARCHAR(40) NOT NULL);
        CREATE INDEX IF NOT EXISTS events_flag_time ON events (flag_name, timestamp);
        CREATE INDEX IF NOT EXISTS events_time ON events (timestamp);
        CREATE TABLE IF NOT EXISTS flag_counts (
          flag_name VARCHAR(100) PRIMARY KEY,
          true_count BIGINT NOT NULL DEFAULT 0,
          false_count BIGINT NOT NULL DEFAULT 0);)"},
    // 2: the variant served and why (OpenFeature evaluations).
    {2, "ALTER TABLE events ADD COLUMN variant TEXT; ALTER TABLE events ADD COLUMN reason TEXT;",
     "ALTER TABLE events ADD COLUMN IF NOT EXISTS variant VARCHAR(100); "
     "ALTER TABLE events ADD COLUMN IF NOT EXISTS reason VARCHAR(32);"},
    // 3: per-flag counters of the variants served and the reasons given (kind 'variant' or
    // 'reason'), kept like flag_counts; starting from the events stored before.
    {3,
     R"(CREATE TABLE flag_label_counts (
          flag_name TEXT NOT NULL,
          kind TEXT NOT NULL,
          label TEXT NOT NULL,
          events INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (flag_name, kind, label));
        INSERT INTO flag_label_counts (flag_name, kind, label, events)
          SELECT flag_name, 'variant', variant, count(*) FROM events WHERE variant <> '' GROUP BY flag_name, variant;
        INSERT INTO flag_label_counts (flag_name, kind, label, events)
          SELECT flag_name, 'reason', reason, count(*) FROM events WHERE reason <> '' GROUP BY flag_name, reason;)",
     R"(CREATE TABLE IF NOT EXISTS flag_label_counts (
          flag_name VARCHAR(100) NOT NULL,
          kind VARCHAR(16) NOT NULL,
          label VARCHAR(100) NOT NULL,
          events BIGINT NOT NULL DEFAULT 0,
          PRIMARY KEY (flag_name, kind, label));
        INSERT INTO flag_label_counts (flag_name, kind, label, events)
          SELECT flag_name, 'variant', variant, count(*) FROM events WHERE variant <> '' GROUP BY flag_name, variant
          UNION ALL
          SELECT flag_name, 'reason', reason, count(*) FROM events WHERE reason <> '' GROUP BY flag_name, reason
        ON CONFLICT DO NOTHING;)"},
};

// PostgreSQL: one statement stores the batch and updates the counters from the rows it actually
// inserted (a redelivered event is neither stored nor counted twice). Counters are updated in
// flag order, so concurrent batches lock their rows in the same order and cannot deadlock.
constexpr const char* kStorePostgres = R"(
  WITH input AS (
    SELECT * FROM json_to_recordset($1::json)
      AS t(event_id text, user_id text, flag_name text, result boolean, timestamp text, variant text, reason text)
  ), inserted AS (
    INSERT INTO events (event_id, user_id, flag_name, result, timestamp, received_at, variant, reason)
    SELECT event_id, user_id, flag_name, result, timestamp, $2, variant, reason FROM input
    ON CONFLICT (event_id) DO NOTHING
    RETURNING flag_name, result, variant, reason
  ), counted AS (
    INSERT INTO flag_counts (flag_name, true_count, false_count)
    SELECT flag_name, count(*) FILTER (WHERE result), count(*) FILTER (WHERE NOT result)
    FROM inserted GROUP BY flag_name ORDER BY flag_name
    ON CONFLICT (flag_name) DO UPDATE SET true_count = flag_counts.true_count + EXCLUDED.true_count,
                                          false_count = flag_counts.false_count + EXCLUDED.false_count
  ), labelled AS (
    INSERT INTO flag_label_counts (flag_name, kind, label, events)
    SELECT flag_name, kind, label, count(*) FROM (
      SELECT flag_name, 'variant' AS kind, variant AS label FROM inserted WHERE variant <> ''
      UNION ALL
      SELECT flag_name, 'reason', reason FROM inserted WHERE reason <> '') AS labels
    GROUP BY flag_name, kind, label ORDER BY flag_name, kind, label
    ON CONFLICT (flag_name, kind, label) DO UPDATE SET events = flag_label_counts.events + EXCLUDED.events
  )
  SELECT count(*) FROM inserted)";

// SQLite: the same insert from the JSON parameter (RETURNING names the new rows); the counters
// follow, one statement per flag of the batch, in the same transaction.
constexpr const char* kStoreSqlite = R"(
  INSERT INTO events (event_id, user_id, flag_name, result, timestamp, received_at, variant, reason)
  SELECT value ->> 'event_id', value ->> 'user_id', value ->> 'flag_name', value ->> 'result',
         value ->> 'timestamp', $2, value ->> 'variant', value ->> 'reason'
  FROM json_each($1) WHERE true
  ON CONFLICT (event_id) DO NOTHING
  RETURNING flag_name, result, variant, reason)";

constexpr const char* kCountSqlite = R"(
  INSERT INTO flag_counts (flag_name, true_count, false_count) VALUES ($1, $2, $3)
  ON CONFLICT (flag_name) DO UPDATE SET true_count = flag_counts.true_count + $2,
                                        false_count = flag_counts.false_count + $3)";

constexpr const char* kCountLabelSqlite = R"(
  INSERT INTO flag_label_counts (flag_name, kind, label, events) VALUES ($1, $2, $3, $4)
  ON CONFLICT (flag_name, kind, label) DO UPDATE SET events = flag_label_counts.events + $4)";

}  // namespace

SqlEventStore::SqlEventStore(sql::Database& db) : db_(db) { sql::migrate(db_, kMigrations, "analytics-service"); }

std::size_t SqlEventStore::store(const std::vector<Event>& events) {
  if (events.empty()) return 0;
  std::string batch = to_json_array(events), now = iso8601_now();
  if (db_.dialect() == sql::Dialect::postgres)
    return static_cast<std::size_t>(db_.exec(kStorePostgres, {batch, now}).rows.at(0).integer(0));
  return db_.transaction([&](sql::Connection& c) {
    auto inserted = c.exec(kStoreSqlite, {batch, now});
    std::map<std::string, Summary> added;
    for (const auto& row : inserted.rows) {
      Event e;
      e.result = row.boolean(1);
      e.variant = row.text(2);
      e.reason = row.text(3);
      added[row.text(0)].count(e);
    }
    for (const auto& [flag, s] : added) {
      c.exec(kCountSqlite, {flag, s.true_count, s.false_count});
      for (const auto& [kind, counts] : s.labels())
        for (const auto& [label, n] : *counts) c.exec(kCountLabelSqlite, {flag, kind, label, n});
    }
    return inserted.rows.size();
  });
}

std::vector<Event> SqlEventStore::recent(const std::optional<std::string>& flag_name, std::size_t limit) {
  constexpr const char* kSelect =
      "SELECT event_id, user_id, flag_name, result, timestamp, variant, reason FROM events ";
  auto n = static_cast<std::int64_t>(limit);
  // Timestamps are stored in UTC with milliseconds, so their text order is their time order.
  auto rows = flag_name ? db_.exec(std::string(kSelect) +
                                       "WHERE flag_name = $1 ORDER BY timestamp DESC, event_id DESC LIMIT $2",
                                   {*flag_name, n})
                        : db_.exec(std::string(kSelect) + "ORDER BY timestamp DESC, event_id DESC LIMIT $1", {n});
  std::vector<Event> out;
  out.reserve(rows.rows.size());
  for (auto& r : rows.rows)
    out.push_back({r.text(0), r.text(1), r.text(2), r.boolean(3), r.text(4), r.text(5), r.text(6)});
  return out;
}

EventStore::Summary SqlEventStore::summary(const std::string& flag_name) {
  // One statement, so one snapshot: the label counts agree with true/false.
  auto r = db_.exec(R"(
    SELECT '' AS kind, '' AS label, true_count, false_count FROM flag_counts WHERE flag_name = $1
    UNION ALL
    SELECT kind, label, events, 0 FROM flag_label_counts WHERE flag_name = $1)",
                    {flag_name});
  Summary s;
  for (const auto& row : r.rows) {
    if (row.text(0).empty()) {
      s.true_count = row.integer(2);
      s.false_count = row.integer(3);
    } else {
      (row.text(0) == "variant" ? s.variants : s.reasons)[row.text(1)] = row.integer(2);
    }
  }
  return s;
}

std::string SqlEventStore::readiness() { return db_.ping() ? "" : "database unreachable"; }

}  // namespace toggle::analytics
