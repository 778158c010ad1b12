// Events in the service's SQL database (SQLite by default, PostgreSQL with DATABASE_URL), keyed by
// event_id so that a batch delivered twice is stored once, with per-flag counters (true/false in
// flag_counts, per variant and per reason in flag_label_counts) kept in the same transaction for
// /summary. A batch is written in a constant number of statements
// whatever its size (the events travel as one JSON parameter), so PostgreSQL keeps up with
// evaluation instead of paying a round trip per event.
#pragma once

#include "toggle/core/event_transport.hpp"
#include "toggle/core/sql.hpp"

namespace toggle::analytics {

class SqlEventStore final : public EventStore {
 public:
  explicit SqlEventStore(sql::Database& db);  // applies the migrations
  std::size_t store(const std::vector<Event>& events) override;
  std::vector<Event> recent(const std::optional<std::string>& flag_name, std::size_t limit) override;
  Summary summary(const std::string& flag_name) override;
  std::string readiness() override;

 private:
  sql::Database& db_;
};

}  // namespace toggle::analytics
