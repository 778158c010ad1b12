// DATABASE_URL to a backend.
#include "toggle/core/database.hpp"

namespace toggle::sql {

bool is_postgres_url(const std::string& url) {
  return url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0;
}

bool is_supported_database_url(const std::string& url) {
  return url.empty() || url.rfind("sqlite:", 0) == 0 || is_postgres_url(url);
}

std::unique_ptr<Database> open_database(const std::string& url, const std::string& default_sqlite_path,
                                        const Options& options) {
  if (url.empty()) return open_sqlite(default_sqlite_path, options);
  if (url.rfind("sqlite:", 0) == 0) return open_sqlite(url.substr(7), options);
  if (is_postgres_url(url)) return open_postgres(url, options);
  throw Error(ErrorKind::internal, "unsupported DATABASE_URL scheme (use sqlite:PATH or postgres://...)");
}

}  // namespace toggle::sql
