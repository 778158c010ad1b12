#include "event_store.hpp"

#include <map>

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
};

}  // namespace

EventStore::EventStore(sql::Database& db) : db_(db) { sql::migrate(db_, kMigrations, "analytics-service"); }

std::size_t EventStore::store(const std::vector<Event>& events) {
  std::string now = iso8601_now();
  return db_.transaction([&](sql::Connection& c) {
    std::map<std::string, Summary> added;
    std::size_t stored = 0;
    for (const auto& e : events) {
      auto r = c.exec(
          "INSERT INTO events (event_id, user_id, flag_name, result, timestamp, received_at) "
          "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
          {e.event_id, e.user_id, e.flag_name, e.result, e.timestamp, now});
      if (r.affected == 0) continue;  // delivered before
      ++stored;
      auto& s = added[e.flag_name];
      (e.result ? s.true_count : s.false_count) += 1;
    }
    for (const auto& [flag, s] : added)
      c.exec(
          "INSERT INTO flag_counts (flag_name, true_count, false_count) VALUES ($1, $2, $3) "
          "ON CONFLICT (flag_name) DO UPDATE SET true_count = flag_counts.true_count + $2, "
          "false_count = flag_counts.false_count + $3",
          {flag, s.true_count, s.false_count});
    return stored;
  });
}

std::vector<Event> EventStore::recent(const std::optional<std::string>& flag_name, std::size_t limit) {
  constexpr const char* kSelect = "SELECT event_id, user_id, flag_name, result, timestamp FROM events ";
  auto n = static_cast<std::int64_t>(limit);
  auto rows = flag_name ? db_.exec(std::string(kSelect) +
                                       "WHERE flag_name = $1 ORDER BY timestamp DESC, event_id DESC "
                                       "LIMIT $2",
                                   {*flag_name, n})
                        : db_.exec(std::string(kSelect) + "ORDER BY timestamp DESC, event_id DESC LIMIT $1", {n});
  std::vector<Event> out;
  out.reserve(rows.rows.size());
  for (auto& r : rows.rows) out.push_back({r.text(0), r.text(1), r.text(2), r.boolean(3), r.text(4)});
  return out;
}

Summary EventStore::summary(const std::string& flag_name) {
  auto r = db_.exec("SELECT true_count, false_count FROM flag_counts WHERE flag_name = $1", {flag_name});
  if (r.rows.empty()) return {};
  return {r.rows[0].integer(0), r.rows[0].integer(1)};
}

}  // namespace toggle::analytics
