// The stores' migrations on PostgreSQL: run twice (a no-op), by replicas starting together on an
// empty database, by all four services in one database, and on a database the seed created.
#include <barrier>
#include <set>

#include "harness.hpp"

namespace itest {
namespace {

using toggle::sql::Database;

// The four services' stores on one database (`url`: for the feeds' LISTEN connections).
struct AllStores {
  AllStores(Database& db, const std::string& url) : keys(db), flags(db, url), rules(db, url), events(db) {}
  toggle::auth::KeyStore keys;
  toggle::flags::FlagStore flags;
  toggle::targeting::RuleStore rules;
  toggle::analytics::SqlEventStore events;
};

std::vector<std::string> applied(Database& db) {
  std::vector<std::string> out;
  for (auto& r : db.exec("SELECT component, version, applied_at FROM schema_migrations ORDER BY 1, 2").rows)
    out.push_back(r.text(0) + "/" + r.text(1) + "@" + r.text(2));
  return out;
}

std::set<std::string> tables(Database& db) {
  std::set<std::string> out;
  for (auto& r : db.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").rows) out.insert(r.text(0));
  return out;
}

class PostgresMigrationTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> open() {
    toggle::sql::Options options;
    options.pool_size = 2;
    return toggle::sql::open_postgres(scratch.url(), options);
  }
  testsupport::ScratchDatabase scratch;
};

TEST_F(PostgresMigrationTest, RunningTwiceIsANoOp) {
  auto db = open();
  {
    AllStores first(*db, scratch.url());
    first.flags.create("kept", "", true);
  }
  auto before = applied(*db);
  ASSERT_EQ(before.size(), 10u) << "auth 1-2, flag 1-2 and 101 (variants), targeting 1-2, analytics 1-3";
  auto again_db = open();
  AllStores again(*again_db, scratch.url());
  EXPECT_EQ(applied(*db), before) << "nothing applied again";
  ASSERT_TRUE(again.flags.get("kept"));
  EXPECT_EQ(again.flags.feed().version(), 1);
}

TEST_F(PostgresMigrationTest, ReplicasMigratingAnEmptyDatabaseTogetherAllSucceed) {
  // Separate connections (one pool each), started at the same moment.
  constexpr int kReplicas = 6;
  std::barrier start(kReplicas);
  std::vector<std::string> errors(kReplicas);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      try {
        auto db = open();
        start.arrive_and_wait();
        AllStores stores(*db, scratch.url());
        // Each replica writes through its own stores at once.
        stores.flags.create("flag-" + std::to_string(i), "", i % 2 == 0);
        stores.keys.ensure("service", std::string(64, 'a'), toggle::service_scopes());
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kReplicas; ++i) EXPECT_EQ(errors[i], "") << "replica " << i;

  auto db = open();
  auto rows = db->exec("SELECT component, version, COUNT(*) FROM schema_migrations GROUP BY 1, 2 ORDER BY 1, 2").rows;
  ASSERT_EQ(rows.size(), 10u);
  for (auto& r : rows) EXPECT_EQ(r.integer(2), 1) << r.text(0) << " " << r.text(1) << " applied more than once";
  toggle::flags::FlagStore flags(*db, scratch.url());
  EXPECT_EQ(flags.list().size(), static_cast<std::size_t>(kReplicas));
  EXPECT_EQ(flags.feed().version(), kReplicas);
  EXPECT_EQ(db->exec("SELECT COUNT(*) FROM api_keys").rows.at(0).integer(0), 1);
}

TEST_F(PostgresMigrationTest, AllServicesShareOneDatabaseWithSeparateChangeLogs) {
  auto db = open();
  AllStores stores(*db, scratch.url());
  EXPECT_TRUE(tables(*db) >= (std::set<std::string>{"api_keys", "flags", "targeting_rules", "events", "flag_counts",
                                                    "flag_change_version", "flag_tombstones", "rule_change_version",
                                                    "rule_tombstones", "schema_migrations", "flag_label_counts"}));
  stores.flags.create("f", "", true);
  stores.flags.create("g", "", true);
  stores.flags.remove("g");
  stores.rules.create("f", R"({"type":"PERCENTAGE","value":50})", true);
  EXPECT_EQ(stores.flags.feed().version(), 3);
  EXPECT_EQ(stores.rules.feed().version(), 1) << "each feed counts its own writes";
  EXPECT_NE(stores.flags.feed().epoch(), stores.rules.feed().epoch());
  json rule_changes = changes_since(stores.rules.feed(), 0, stores.rules.feed().epoch());
  EXPECT_TRUE(rule_changes["deleted"].empty()) << "a flag's tombstone is not a rule's";
  json flag_changes = changes_since(stores.flags.feed(), 2, stores.flags.feed().epoch());
  EXPECT_EQ(flag_changes["deleted"], json::array({"g"}));
}

// The seed's schemas (auth-service, flag-service and targeting-service db/init.sql), all in one
// database as some seed deployments have them, each table with a row written the seed's way.
const char* const kSeedSchema = R"(
CREATE TABLE IF NOT EXISTS api_keys (
  id SERIAL PRIMARY KEY, name VARCHAR(100) NOT NULL,
  key_hash VARCHAR(64) NOT NULL UNIQUE, is_active BOOLEAN DEFAULT true,
  created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP);

CREATE TABLE IF NOT EXISTS flags (
  id SERIAL PRIMARY KEY, name VARCHAR(100) UNIQUE NOT NULL, description TEXT,
  is_enabled BOOLEAN NOT NULL DEFAULT false,
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP);
CREATE OR REPLACE FUNCTION trigger_set_timestamp() RETURNS TRIGGER AS $$
BEGIN
  NEW.updated_at = NOW();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS set_timestamp ON flags;
CREATE TRIGGER set_timestamp BEFORE UPDATE ON flags FOR EACH ROW EXECUTE PROCEDURE trigger_set_timestamp();

CREATE TABLE IF NOT EXISTS targeting_rules (
  id SERIAL PRIMARY KEY, flag_name VARCHAR(100) UNIQUE NOT NULL,
  is_enabled BOOLEAN NOT NULL DEFAULT true, rules JSONB NOT NULL,
  created_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMPTZ DEFAULT CURRENT_TIMESTAMP);
DROP TRIGGER IF EXISTS set_timestamp ON targeting_rules;
CREATE TRIGGER set_timestamp BEFORE UPDATE ON targeting_rules FOR EACH ROW EXECUTE PROCEDURE trigger_set_timestamp();

INSERT INTO api_keys (name, key_hash) VALUES ('evaluation-service-key', encode(sha256('tm_key_from_the_seed'), 'hex'));
INSERT INTO api_keys (name, key_hash, is_active) VALUES ('null-active', encode(sha256('tm_key_null_active'), 'hex'), NULL);
INSERT INTO flags (name, description, is_enabled, created_at, updated_at)
  VALUES ('enable-new-dashboard', NULL, true, '2025-06-11 17:03:07.123456+00', NOW());
INSERT INTO targeting_rules (flag_name, is_enabled, rules)
  VALUES ('enable-new-dashboard', true, '{"value": 50, "type": "PERCENTAGE"}');
)";

TEST_F(PostgresMigrationTest, ASeedDatabaseIsAdoptedAndItsRowsAreServed) {
  auto db = open();
  db->acquire()->script(kSeedSchema);
  AllStores stores(*db, scratch.url());

  // auth: the seed's key validates; a NULL is_active counts as inactive, as in the original.
  auto key = stores.keys.find_active(toggle::crypto::sha256_hex("tm_key_from_the_seed"));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->name, "evaluation-service-key");
  EXPECT_TRUE(is_iso8601_utc(key->created_at)) << key->created_at;
  EXPECT_FALSE(stores.keys.find_active(toggle::crypto::sha256_hex("tm_key_null_active")));
  auto keys = stores.keys.list();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_FALSE(keys[1].is_active);
  EXPECT_TRUE(stores.keys.revoke(keys[1].id));
  ASSERT_TRUE(stores.keys.list()[1].revoked_at) << "revoking a NULL is_active records when";
  auto created = stores.keys.create("new", toggle::crypto::sha256_hex("tm_key_new"), {});
  EXPECT_EQ(key->scopes, toggle::default_scopes()) << "the seed's keys have no scopes: the defaults";
  EXPECT_GT(created.id, key->id) << "the seed's sequence goes on";

  // flags: served with ISO timestamps, in the full change feed, and writable.
  auto flag = stores.flags.get("enable-new-dashboard");
  ASSERT_TRUE(flag);
  EXPECT_TRUE(flag->is_enabled);
  EXPECT_EQ(flag->description, "");
  EXPECT_EQ(flag->created_at, "2025-06-11T17:03:07.123Z");
  EXPECT_TRUE(is_iso8601_utc(flag->updated_at)) << flag->updated_at;
  json full = changes_since(stores.flags.feed(), 0, stores.flags.feed().epoch());
  ASSERT_EQ(full["flags"].size(), 1u);
  EXPECT_EQ(full["flags"][0]["name"], "enable-new-dashboard");
  auto off = stores.flags.update("enable-new-dashboard", std::nullopt, false);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->is_enabled);
  EXPECT_TRUE(is_iso8601_utc(off->updated_at)) << "the seed's trigger sets it: " << off->updated_at;
  EXPECT_EQ(changes_since(stores.flags.feed(), full["version"].get<std::int64_t>(), full["epoch"].get<std::string>())
                ["flags"]
                    .size(),
            1u);
  // The adopted table has the variants column too: NULL for the seed's flags, which answer as before.
  EXPECT_FALSE(flag->variants);
  EXPECT_FALSE(full["flags"][0].contains("variants"));
  const std::string part = R"({"default_variant":"off","off_variant":"off","type":"boolean","variants":{"off":false,"on":true}})";
  EXPECT_EQ(stores.flags.update("enable-new-dashboard", std::nullopt, std::nullopt, part)->variants, part);
  EXPECT_EQ(stores.flags.update("enable-new-dashboard", std::nullopt, false, std::nullopt)->variants, part);

  // targeting: the JSONB rule comes back as canonical JSON.
  auto rule = stores.rules.get("enable-new-dashboard");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->rules, R"({"type":"PERCENTAGE","value":50})");
  EXPECT_TRUE(is_iso8601_utc(rule->created_at));
  EXPECT_EQ(stores.rules.list().size(), 1u);

  // And over HTTP, through the real routes.
  TempDir dir;
  AuthService auth(dir);
  FlagService flags(scratch.url(), auth.url());
  TargetingService targeting(scratch.url(), auth.url(), flags.url());
  auto got = call("GET", flags.url() + "/flags/enable-new-dashboard", kServiceKey);
  ASSERT_EQ(got.status, 200) << describe(got);
  EXPECT_EQ(body_of(got)["created_at"], "2025-06-11T17:03:07.123Z");
  EXPECT_EQ(body_of(got)["is_enabled"], false);
  auto got_rule = call("GET", targeting.url() + "/rules/enable-new-dashboard", kServiceKey);
  ASSERT_EQ(got_rule.status, 200) << describe(got_rule);
  EXPECT_EQ(body_of(got_rule)["rules"], json::parse(R"({"type":"PERCENTAGE","value":50})"));
  flags.stop();  // answers targeting's parked poll: it stops at once
}

}  // namespace
}  // namespace itest
