// What is SQLite's own in libs/core's SQL layer (sqlite.cpp, database.cpp, migrate.cpp), against
// SQLite files in a temporary directory: WAL, durable commits, the version-only schema_migrations
// table of older files, NUL bytes, booleans as integers; and the database URL schemes. The driver
// contract both backends share is one suite in tests/integration/sql_contract_test.cpp.
#include "toggle/core/database.hpp"
#include "toggle/core/migrate.hpp"
#include "toggle/core/sql.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace sql = toggle::sql;
using std::int64_t;

class SqlTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/toggle-unit-sql-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
    db = sql::open_sqlite(dir + "/data/test.db");  // the folder is created on demand
  }
  void TearDown() override {
    db.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  int64_t count(const std::string& table) { return db->exec("SELECT COUNT(*) FROM " + table).rows.at(0).integer(0); }

  std::string dir;
  std::unique_ptr<sql::Database> db;
};

const std::vector<sql::Migration> kMigrations = {
    {1,
     "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT, qty INTEGER, price REAL,"
     " active INTEGER NOT NULL DEFAULT 0)",
     "-- postgres schema is not used here"},
    {2, "CREATE UNIQUE INDEX items_name ON items (name)", ""},
};

TEST_F(SqlTest, OpensInWalModeAndPings) {
  EXPECT_EQ(db->dialect(), sql::Dialect::sqlite);
  EXPECT_TRUE(db->ping());
  EXPECT_TRUE(std::filesystem::exists(dir + "/data/test.db"));
  EXPECT_EQ(db->exec("PRAGMA journal_mode").rows.at(0).text(0), "wal");
}

TEST_F(SqlTest, AVersionOnlyMigrationsTableIsAdoptedByItsComponent) {
  // A file written before components existed: its versions belong to the one service using it.
  db->exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  db->acquire()->script(kMigrations[0].sqlite);
  db->exec("INSERT INTO schema_migrations (version, applied_at) VALUES (1, 'long ago')");
  ASSERT_NO_THROW(sql::migrate(*db, kMigrations, "svc")) << "version 1 must not run again";
  auto rows = db->exec("SELECT component, version, applied_at FROM schema_migrations ORDER BY version").rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text(0), "svc");
  EXPECT_EQ(rows[0].text(2), "long ago");
  EXPECT_EQ(rows[1].integer(1), 2);
  EXPECT_TRUE(db->exec("SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations_v1'").rows.empty());
}

// SQLite has no boolean type: a bool parameter is stored as the integer 1 or 0.
TEST_F(SqlTest, BooleansAreStoredAsIntegers) {
  sql::migrate(*db, kMigrations);
  db->exec("INSERT INTO items (name, active) VALUES ($1, $2), ($3, $4)",
           {std::string_view("yes"), true, std::string_view("no"), false});
  auto rows = db->exec("SELECT active, typeof(active) FROM items ORDER BY name DESC").rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text(0), "1");
  EXPECT_EQ(rows[0].text(1), "integer");
  EXPECT_EQ(rows[1].text(0), "0");
  EXPECT_TRUE(rows[0].boolean(0));
  EXPECT_FALSE(rows[1].boolean(0));
}

// SQLite text may hold NUL bytes (PostgreSQL refuses them: tests/postgres/driver_test.cpp).
TEST_F(SqlTest, TextWithNulAndUtf8RoundTrips) {
  std::string value("caf\xc3\xa9\0tail", 10);
  auto row = db->exec("SELECT $1, length(CAST($1 AS BLOB))", {std::string_view(value)}).rows.at(0);
  EXPECT_EQ(row.text(0), value);
  EXPECT_EQ(row.integer(1), 10);
}

TEST_F(SqlTest, DurableCommitsSyncEveryCommit) {
  EXPECT_EQ(db->exec("PRAGMA synchronous").rows.at(0).integer(0), 1) << "NORMAL by default";
  sql::Options durable;
  durable.durable_commits = true;
  auto synced = sql::open_sqlite(dir + "/data/durable.db", durable);
  EXPECT_EQ(synced->exec("PRAGMA synchronous").rows.at(0).integer(0), 2) << "FULL";
}

TEST(RowBoolean, AcceptsBothDialects) {
  sql::Row row;
  row.values = {"1", "0", "t", "f", "true", std::nullopt};
  EXPECT_TRUE(row.boolean(0));
  EXPECT_FALSE(row.boolean(1));
  EXPECT_TRUE(row.boolean(2));
  EXPECT_FALSE(row.boolean(3));
  EXPECT_TRUE(row.boolean(4));
  EXPECT_FALSE(row.boolean(5));
}

TEST(OpenDatabase, UrlSchemes) {
  EXPECT_TRUE(sql::is_supported_database_url(""));
  EXPECT_TRUE(sql::is_supported_database_url("sqlite:/tmp/x.db"));
  EXPECT_TRUE(sql::is_supported_database_url("postgres://u@h/db"));
  EXPECT_TRUE(sql::is_supported_database_url("postgresql://u:p@h:5432/db?sslmode=disable"));
  EXPECT_TRUE(sql::is_postgres_url("postgresql://h/db"));
  EXPECT_FALSE(sql::is_postgres_url("sqlite:/tmp/x.db"));
  EXPECT_FALSE(sql::is_supported_database_url("mysql://h"));
  EXPECT_FALSE(sql::is_supported_database_url("Postgres://h/db"));
  EXPECT_THROW(sql::open_database("mysql://h", "/tmp/unused.db"), sql::Error);
  // PostgreSQL connections are opened on demand: a well-formed URL opens without a server...
  auto lazy = sql::open_database("postgres://u@127.0.0.1:1/db", "/tmp/unused.db");
  EXPECT_EQ(lazy->dialect(), sql::Dialect::postgres);
  // ... which is "unavailable" when used, not a crash.
  try {
    lazy->exec("SELECT 1");
    ADD_FAILURE() << "no server listens on port 1";
  } catch (const sql::Error& e) {
    EXPECT_EQ(e.kind(), toggle::ErrorKind::unavailable) << e.what();
  }
  EXPECT_FALSE(lazy->ping());
  // A malformed one is refused at once.
  EXPECT_THROW(sql::open_database("postgres://h/db?no_such_option=1", "/tmp/unused.db"), sql::Error);

  char tmpl[] = "/tmp/toggle-unit-sqlurl-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  {
    auto by_url = sql::open_database("sqlite:" + dir + "/u.db", dir + "/default.db");
    EXPECT_TRUE(by_url->ping());
    auto by_default = sql::open_database("", dir + "/default.db");
    EXPECT_TRUE(by_default->ping());
  }
  EXPECT_TRUE(std::filesystem::exists(dir + "/u.db"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/default.db"));
  std::filesystem::remove_all(dir);
}

}  // namespace
