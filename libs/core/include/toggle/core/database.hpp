// Opening the service's database (DATABASE_URL): an SQLite file (the default) or a PostgreSQL
// pool. The backends themselves are in sqlite.cpp and postgres.cpp.
#pragma once

#include <memory>
#include <string>

#include "toggle/core/sql.hpp"

namespace toggle::sql {

// Opens (creating it and its folder if needed) an SQLite database file in WAL mode.
std::unique_ptr<Database> open_sqlite(const std::string& path, const Options& options = {});
// A pool of PostgreSQL connections to `url` (postgres://user:pass@host:port/db?sslmode=...),
// opened on demand; a broken connection is replaced on the next acquire(). Throws Error if the
// URL is malformed (nothing is connected yet).
std::unique_ptr<Database> open_postgres(const std::string& url, const Options& options = {});
// The service's database: `url` from DATABASE_URL ("sqlite:PATH", "postgres://..." or
// "postgresql://...", or empty for `default_sqlite_path`).
std::unique_ptr<Database> open_database(const std::string& url, const std::string& default_sqlite_path,
                                        const Options& options = {});
// Whether open_database() understands `url` (checked with the rest of the configuration).
bool is_supported_database_url(const std::string& url);
bool is_postgres_url(const std::string& url);

}  // namespace toggle::sql
