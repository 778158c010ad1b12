#include "toggle/core/feed_store.hpp"

#include "toggle/core/database.hpp"
#include "toggle/core/json.hpp"

namespace toggle {
namespace {

sql::Database& migrated(sql::Database& db, const FeedStore::Table& table) {
  sql::migrate(db, table.migrations, table.component);
  return db;
}

}  // namespace

FeedStore::FeedStore(sql::Database& db, const std::string& database_url, Table table)
    : db_(migrated(db, table)),
      table_(std::move(table)),
      scope_(table_.scope),
      feed_(changelog::current_version(db, scope_), changelog::epoch(db, scope_),
            [this](std::int64_t since, const std::string& epoch) { return changes_reply(since, epoch); }) {
  if (db.dialect() == sql::Dialect::postgres)
    replicas_ = std::make_unique<changelog::ReplicaSync>(database_url, scope_, feed_, [this] { return version(); });
}

FeedStore::~FeedStore() = default;

bool FeedStore::exists(sql::Connection& c, std::string_view key) {
  return !c.exec("SELECT 1 FROM " + table_.name + " WHERE " + table_.key + " = $1", {key}).rows.empty();
}

bool FeedStore::remove(std::string_view key) {
  auto version = changelog::remove(db_, scope_, "DELETE FROM " + table_.name + " WHERE " + table_.key + " = $1",
                                   std::string(key));
  if (!version) return false;
  feed_.publish(*version);
  return true;
}

std::string FeedStore::select(std::string_view rest) const {
  return "SELECT " + table_.columns + " FROM " + table_.name + " " + std::string(rest);
}

std::optional<sql::Row> FeedStore::find(std::string_view key) {
  auto r = db_.exec(select("WHERE " + table_.key + " = $1"), {key});
  if (r.rows.empty()) return std::nullopt;
  return std::move(r.rows[0]);
}

std::vector<sql::Row> FeedStore::all() { return db_.exec(select("ORDER BY " + table_.key)).rows; }

Response FeedStore::changes_reply(std::int64_t since, const std::string& epoch) {
  auto ch = changelog::read(db_, scope_, since, epoch, select("ORDER BY " + table_.key),
                            select("WHERE version > $1 ORDER BY version"));
  json items = json::array();
  for (const auto& row : ch.rows) items.push_back(table_.to_json(row));
  return json_response(200, {{"epoch", ch.epoch},
                             {"version", ch.version},
                             {"full", ch.full},
                             {table_.items, std::move(items)},
                             {"deleted", ch.deleted}});
}

Reply FeedStore::changes(const Request& req) { return feed_.handle(req); }

std::int64_t FeedStore::version() { return changelog::current_version(db_, scope_); }
std::string FeedStore::epoch() { return changelog::epoch(db_, scope_); }

}  // namespace toggle
