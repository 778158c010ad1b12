// Schemas: numbered migrations per component, each applied once, in order.
#pragma once

#include <string_view>
#include <vector>

#include "toggle/core/sql.hpp"

namespace toggle::sql {

struct Migration {
  int version;
  std::string_view sqlite;
  std::string_view postgres;
};

// Applies, in order and once each, the migrations of `component` (e.g. "flag-service") not yet
// recorded in schema_migrations; several components may share one database. Each migration runs in
// its own transaction, which on PostgreSQL first takes an advisory lock, so that replicas starting
// together apply each migration once and wait for each other. A PostgreSQL that cannot be reached
// yet is waited for, up to 60 s.
void migrate(Database& db, const std::vector<Migration>& migrations, std::string_view component = "");

}  // namespace toggle::sql
