#include "toggle/core/changelog.hpp"

namespace toggle::changelog {

const std::string_view kSchemaSqlite = R"(
CREATE TABLE change_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, epoch TEXT NOT NULL);
INSERT INTO change_version (id, version, epoch) VALUES (1, 0, lower(hex(randomblob(8))));
CREATE TABLE tombstones (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE INDEX tombstones_version ON tombstones (version);
)";

const std::string_view kSchemaPostgres = R"(
CREATE TABLE IF NOT EXISTS change_version (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL,
                                           epoch TEXT NOT NULL);
INSERT INTO change_version (id, version, epoch) VALUES (1, 0, substr(md5(random()::text), 1, 16))
  ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS tombstones (name VARCHAR(100) PRIMARY KEY, version BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS tombstones_version ON tombstones (version);
)";

std::int64_t next_version(sql::Connection& c) {
  return c.exec("UPDATE change_version SET version = version + 1 WHERE id = 1 RETURNING version").rows.at(0).integer(0);
}

std::int64_t current_version(sql::Connection& c) {
  return c.exec("SELECT version FROM change_version WHERE id = 1").rows.at(0).integer(0);
}

std::string epoch(sql::Connection& c) {
  return c.exec("SELECT epoch FROM change_version WHERE id = 1").rows.at(0).text(0);
}

void mark_deleted(sql::Connection& c, std::string_view name, std::int64_t version) {
  c.exec("INSERT INTO tombstones (name, version) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = $2",
         {name, version});
}

void mark_present(sql::Connection& c, std::string_view name) {
  c.exec("DELETE FROM tombstones WHERE name = $1", {name});
}

std::vector<std::string> deleted_since(sql::Connection& c, std::int64_t since) {
  std::vector<std::string> names;
  for (auto& row : c.exec("SELECT name FROM tombstones WHERE version > $1 ORDER BY version", {since}).rows)
    names.push_back(row.text(0));
  return names;
}

Changes read(sql::Database& db, std::int64_t since, const std::string& epoch_seen, const std::string& select_all,
             const std::string& select_since) {
  return db.transaction([&](sql::Connection& c) {
    Changes ch;
    ch.epoch = epoch(c);
    ch.version = current_version(c);
    ch.full = since <= 0 || since > ch.version || epoch_seen != ch.epoch;
    ch.rows = ch.full ? c.exec(select_all).rows : c.exec(select_since, {since}).rows;
    if (!ch.full) ch.deleted = deleted_since(c, since);
    return ch;
  });
}

std::optional<std::int64_t> remove(sql::Database& db, const std::string& delete_sql, const std::string& name) {
  return db.transaction([&](sql::Connection& c) -> std::optional<std::int64_t> {
    if (c.exec(delete_sql, {name}).affected == 0) return std::nullopt;
    std::int64_t v = next_version(c);
    mark_deleted(c, name, v);
    return v;
  });
}

std::int64_t current_version(sql::Database& db) { return current_version(*db.acquire()); }
std::string epoch(sql::Database& db) { return epoch(*db.acquire()); }

}  // namespace toggle::changelog
