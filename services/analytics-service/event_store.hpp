// Evaluation events at rest, keyed by event_id so that a batch delivered twice is stored once,
// with per-flag true/false counters kept in the same transaction for /summary.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "toggle/core/sql.hpp"

namespace toggle::analytics {

struct Event {
  std::string event_id, user_id, flag_name;
  bool result = false;
  std::string timestamp;
};

struct Summary {
  std::int64_t true_count = 0, false_count = 0;
};

class EventStore {
 public:
  explicit EventStore(sql::Database& db);
  // Stores the batch atomically; returns how many were new (the rest were already stored).
  std::size_t store(const std::vector<Event>& events);
  // Newest first, optionally for one flag.
  std::vector<Event> recent(const std::optional<std::string>& flag_name, std::size_t limit);
  Summary summary(const std::string& flag_name);
  bool ping() { return db_.ping(); }

 private:
  sql::Database& db_;
};

}  // namespace toggle::analytics
