#include "toggle/core/changelog.hpp"

#include <charconv>

#include "toggle/core/change_feed.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/postgres.hpp"

namespace toggle::changelog {

Scope::Scope(std::string n)
    : name(std::move(n)),
      version_table(name + "_change_version"),
      tombstone_table(name + "_tombstones"),
      channel("toggle_" + name + "_changes") {}

const std::string_view kLegacySchemaSqlite = R"(
CREATE TABLE change_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, epoch TEXT NOT NULL);
INSERT INTO change_version (id, version, epoch) VALUES (1, 0, lower(hex(randomblob(8))));
CREATE TABLE tombstones (name TEXT PRIMARY KEY, version INTEGER NOT NULL);
CREATE INDEX tombstones_version ON tombstones (version);
)";

std::string scope_legacy_tables_sqlite(const Scope& s) {
  return "ALTER TABLE change_version RENAME TO " + s.version_table + ";\n" +  //
         "ALTER TABLE tombstones RENAME TO " + s.tombstone_table + ";\n" +    //
         "DROP INDEX tombstones_version;\n" +                                 //
         "CREATE INDEX " + s.tombstone_table + "_version ON " + s.tombstone_table + " (version);\n";
}

std::string schema_postgres(const Scope& s) {
  return "CREATE TABLE IF NOT EXISTS " + s.version_table +
         " (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL, epoch TEXT NOT NULL);\n"
         "INSERT INTO " +
         s.version_table +
         " (id, version, epoch) VALUES (1, 0, substr(md5(random()::text || clock_timestamp()::text), 1, 16))"
         " ON CONFLICT DO NOTHING;\n"
         "CREATE TABLE IF NOT EXISTS " +
         s.tombstone_table +
         " (name VARCHAR(100) PRIMARY KEY, version BIGINT NOT NULL);\n"
         "CREATE INDEX IF NOT EXISTS " +
         s.tombstone_table + "_version ON " + s.tombstone_table + " (version);\n";
}

std::int64_t next_version(sql::Connection& c, const Scope& s) {
  std::int64_t v = c.exec("UPDATE " + s.version_table + " SET version = version + 1 WHERE id = 1 RETURNING version")
                       .rows.at(0)
                       .integer(0);
  if (c.dialect() == sql::Dialect::postgres) {
    std::string payload = std::to_string(v);
    c.exec("SELECT pg_notify($1, $2)", {std::string_view(s.channel), std::string_view(payload)});
  }
  return v;
}

std::int64_t current_version(sql::Connection& c, const Scope& s) {
  return c.exec("SELECT version FROM " + s.version_table + " WHERE id = 1").rows.at(0).integer(0);
}

std::string epoch(sql::Connection& c, const Scope& s) {
  return c.exec("SELECT epoch FROM " + s.version_table + " WHERE id = 1").rows.at(0).text(0);
}

void mark_deleted(sql::Connection& c, const Scope& s, std::string_view name, std::int64_t version) {
  c.exec("INSERT INTO " + s.tombstone_table +
             " (name, version) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = $2",
         {name, version});
}

void mark_present(sql::Connection& c, const Scope& s, std::string_view name) {
  c.exec("DELETE FROM " + s.tombstone_table + " WHERE name = $1", {name});
}

std::vector<std::string> deleted_since(sql::Connection& c, const Scope& s, std::int64_t since) {
  std::vector<std::string> names;
  for (auto& row :
       c.exec("SELECT name FROM " + s.tombstone_table + " WHERE version > $1 ORDER BY version", {since}).rows)
    names.push_back(row.text(0));
  return names;
}

Changes read(sql::Database& db, const Scope& s, std::int64_t since, const std::string& epoch_seen,
             const std::string& select_all, const std::string& select_since) {
  return db.transaction([&](sql::Connection& c) {
    Changes ch;
    auto head = c.exec("SELECT epoch, version FROM " + s.version_table + " WHERE id = 1").rows.at(0);
    ch.epoch = head.text(0);
    ch.version = head.integer(1);
    ch.full = since <= 0 || since > ch.version || epoch_seen != ch.epoch;
    ch.rows = ch.full ? c.exec(select_all).rows : c.exec(select_since, {since}).rows;
    if (!ch.full) ch.deleted = deleted_since(c, s, since);
    return ch;
  });
}

std::optional<std::int64_t> remove(sql::Database& db, const Scope& s, const std::string& delete_sql,
                                   const std::string& name) {
  return db.transaction([&](sql::Connection& c) -> std::optional<std::int64_t> {
    if (c.exec(delete_sql, {name}).affected == 0) return std::nullopt;
    std::int64_t v = next_version(c, s);
    mark_deleted(c, s, name, v);
    return v;
  });
}

std::int64_t current_version(sql::Database& db, const Scope& s) { return current_version(*db.acquire(), s); }
std::string epoch(sql::Database& db, const Scope& s) { return epoch(*db.acquire(), s); }

// ---------------------------------------------------------------------------------------------
// ReplicaSync

struct ReplicaSync::Impl {
  std::unique_ptr<sql::Listener> listener;
};

ReplicaSync::ReplicaSync(const std::string& database_url, const Scope& scope, ChangeFeed& feed,
                         std::function<std::int64_t()> current_version)
    : impl_(std::make_unique<Impl>()) {
  feed.set_version_source(current_version);
  sql::Listener::Handlers handlers;
  handlers.on_notify = [&feed, channel = scope.channel](const std::string& payload) {
    std::int64_t version = 0;
    auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), version);
    if (ec != std::errc() || end != payload.data() + payload.size()) {
      log::warn("ignored a change notification that is not a version", {{"channel", channel}, {"payload", payload}});
      return;
    }
    feed.publish(version);
  };
  handlers.on_connected = [&feed, current_version = std::move(current_version)] { feed.publish(current_version()); };
  impl_->listener = std::make_unique<sql::Listener>(database_url, scope.channel, std::move(handlers));
}

ReplicaSync::~ReplicaSync() = default;

bool ReplicaSync::connected() const { return impl_->listener->connected(); }

}  // namespace toggle::changelog
