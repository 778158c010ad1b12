// Unit tests for libs/core sql.hpp against SQLite files in a temporary directory: migrations,
// $n placeholders, error kinds, transactions and NULLs.
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

toggle::ErrorKind kind_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const sql::Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no sql::Error thrown";
  return toggle::ErrorKind::internal;
}

TEST_F(SqlTest, OpensInWalModeAndPings) {
  EXPECT_EQ(db->dialect(), sql::Dialect::sqlite);
  EXPECT_TRUE(db->ping());
  EXPECT_TRUE(std::filesystem::exists(dir + "/data/test.db"));
  EXPECT_EQ(db->exec("PRAGMA journal_mode").rows.at(0).text(0), "wal");
}

TEST_F(SqlTest, MigrateIsIdempotent) {
  sql::migrate(*db, kMigrations);
  ASSERT_NO_THROW(sql::migrate(*db, kMigrations)) << "a second run must not re-apply anything";
  auto applied = db->exec("SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_EQ(applied.rows.size(), 2u);
  EXPECT_EQ(applied.rows[0].integer(0), 1);
  EXPECT_EQ(applied.rows[1].integer(0), 2);
  EXPECT_FALSE(db->exec("SELECT applied_at FROM schema_migrations").rows.at(0).text(0).empty());
}

TEST_F(SqlTest, MigrateAppliesOnlyNewMigrations) {
  sql::migrate(*db, kMigrations);
  db->exec("INSERT INTO items (name) VALUES ($1)", {std::string_view("kept")});
  auto more = kMigrations;
  more.push_back({3, "ALTER TABLE items ADD COLUMN extra TEXT", ""});
  sql::migrate(*db, more);
  EXPECT_EQ(count("items"), 1) << "earlier migrations must not run again";
  EXPECT_EQ(db->exec("SELECT COUNT(*) FROM schema_migrations").rows.at(0).integer(0), 3);
  EXPECT_NO_THROW(db->exec("SELECT extra FROM items"));
}

TEST_F(SqlTest, FailedMigrationIsNotRecorded) {
  std::vector<sql::Migration> bad = {{1, "CREATE TABLE ok_table (x INTEGER); THIS IS NOT SQL", ""}};
  EXPECT_THROW(sql::migrate(*db, bad), sql::Error);
  EXPECT_TRUE(db->exec("SELECT 1 FROM schema_migrations WHERE version = 1").rows.empty());
  EXPECT_THROW(db->exec("SELECT x FROM ok_table"), sql::Error) << "the failed migration was rolled back";
}

TEST_F(SqlTest, MigrationsSurviveReopening) {
  sql::migrate(*db, kMigrations);
  db.reset();
  db = sql::open_sqlite(dir + "/data/test.db");
  EXPECT_NO_THROW(sql::migrate(*db, kMigrations));
  EXPECT_EQ(db->exec("SELECT COUNT(*) FROM schema_migrations").rows.at(0).integer(0), 2);
}

TEST_F(SqlTest, ComponentsSharingADatabaseKeepTheirOwnVersions) {
  sql::migrate(*db, kMigrations, "one");
  const std::vector<sql::Migration> other = {{1, "CREATE TABLE other_items (x INTEGER)", ""}};
  sql::migrate(*db, other, "two");
  EXPECT_NO_THROW(db->exec("SELECT x FROM other_items")) << "version 1 of 'two' is not version 1 of 'one'";
  sql::migrate(*db, other, "two");
  sql::migrate(*db, kMigrations, "one");
  auto rows = db->exec("SELECT component, version FROM schema_migrations ORDER BY component, version").rows;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].text(0), "one");
  EXPECT_EQ(rows[2].text(0), "two");
  EXPECT_EQ(rows[2].integer(1), 1);
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

TEST_F(SqlTest, DollarParametersBindByNumberNotByPosition) {
  sql::migrate(*db, kMigrations);
  // $2 appears before $1 in the text.
  auto r = db->exec("INSERT INTO items (note, name, qty) VALUES ($2, $1, $3)",
                    {std::string_view("the-name"), std::string_view("the-note"), int64_t{7}});
  EXPECT_EQ(r.affected, 1);
  auto row = db->exec("SELECT name, note, qty FROM items").rows.at(0);
  EXPECT_EQ(row.text(0), "the-name");
  EXPECT_EQ(row.text(1), "the-note");
  EXPECT_EQ(row.integer(2), 7);

  auto concat =
      db->exec("SELECT $3 || $1 || $2", {std::string_view("a"), std::string_view("b"), std::string_view("c")});
  EXPECT_EQ(concat.rows.at(0).text(0), "cab");
}

TEST_F(SqlTest, ParameterUsedTwiceBindsOnce) {
  auto r = db->exec("SELECT $1 + $1, $2", {int64_t{21}, std::string_view("x")});
  EXPECT_EQ(r.rows.at(0).integer(0), 42);
  EXPECT_EQ(r.rows.at(0).text(1), "x");
}

TEST_F(SqlTest, CachedStatementsDoNotKeepOldBindings) {
  sql::migrate(*db, kMigrations);
  const char* insert = "INSERT INTO items (name, note) VALUES ($1, $2)";
  db->exec(insert, {std::string_view("a"), std::string_view("note-a")});
  db->exec(insert, {std::string_view("b"), nullptr});
  auto rows = db->exec("SELECT name, note FROM items ORDER BY name").rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text(1), "note-a");
  EXPECT_TRUE(rows[1].is_null(1)) << "the second run must not reuse the first run's $2";
}

TEST_F(SqlTest, ParamTypesRoundTrip) {
  sql::migrate(*db, kMigrations);
  std::vector<sql::Param> params = {std::string_view("typed"), int64_t{-9000000000}, 2.5, true};
  db->acquire()->exec("INSERT INTO items (name, qty, price, active) VALUES ($1, $2, $3, $4)", params);
  auto row = db->exec("SELECT name, qty, price, active, typeof(active) FROM items").rows.at(0);
  EXPECT_EQ(row.text(0), "typed");
  EXPECT_EQ(row.integer(1), -9000000000);
  EXPECT_DOUBLE_EQ(std::stod(row.text(2)), 2.5);
  EXPECT_TRUE(row.boolean(3));
  EXPECT_EQ(row.text(4), "integer");
}

TEST_F(SqlTest, TextWithNulAndUtf8RoundTrips) {
  std::string value("caf\xc3\xa9\0tail", 10);
  auto row = db->exec("SELECT $1, length(CAST($1 AS BLOB))", {std::string_view(value)}).rows.at(0);
  EXPECT_EQ(row.text(0), value);
  EXPECT_EQ(row.integer(1), 10);
}

TEST_F(SqlTest, UniqueViolationIsAConflict) {
  sql::migrate(*db, kMigrations);
  db->exec("INSERT INTO items (name) VALUES ($1)", {std::string_view("dup")});
  EXPECT_EQ(kind_of([&] { db->exec("INSERT INTO items (name) VALUES ($1)", {std::string_view("dup")}); }),
            toggle::ErrorKind::conflict);
  EXPECT_EQ(count("items"), 1);
  // The connection stays usable after the error.
  db->exec("INSERT INTO items (name) VALUES ($1)", {std::string_view("other")});
  EXPECT_EQ(count("items"), 2);
}

TEST_F(SqlTest, PrimaryKeyViolationIsAConflict) {
  sql::migrate(*db, kMigrations);
  db->exec("INSERT INTO items (id, name) VALUES (1, 'a')");
  EXPECT_EQ(kind_of([&] { db->exec("INSERT INTO items (id, name) VALUES (1, 'b')"); }), toggle::ErrorKind::conflict);
}

TEST_F(SqlTest, OtherErrorsAreKindOther) {
  sql::migrate(*db, kMigrations);
  EXPECT_EQ(kind_of([&] { db->exec("SELEKT nonsense"); }), toggle::ErrorKind::internal);
  EXPECT_EQ(kind_of([&] { db->exec("SELECT missing_column FROM items"); }), toggle::ErrorKind::internal);
  EXPECT_EQ(kind_of([&] { db->exec("INSERT INTO items (name) VALUES (NULL)"); }), toggle::ErrorKind::internal)
      << "NOT NULL is not a conflict";
}

TEST_F(SqlTest, TransactionCommitsWhenWorkReturns) {
  sql::migrate(*db, kMigrations);
  int64_t id = db->transaction([](sql::Connection& c) {
    c.exec("INSERT INTO items (name) VALUES ($1)", {std::string_view("one")});
    c.exec("INSERT INTO items (name) VALUES ($1)", {std::string_view("two")});
    return c.exec("SELECT MAX(id) FROM items").rows.at(0).integer(0);
  });
  EXPECT_EQ(id, 2);
  EXPECT_EQ(count("items"), 2);
}

TEST_F(SqlTest, TransactionRollsBackOnException) {
  sql::migrate(*db, kMigrations);
  db->exec("INSERT INTO items (name) VALUES ('before')");
  EXPECT_THROW(db->transaction([](sql::Connection& c) {
    c.exec("INSERT INTO items (name) VALUES ($1)", {std::string_view("inside")});
    c.exec("UPDATE items SET note = 'changed'");
    throw std::runtime_error("abort");
  }),
               std::runtime_error);
  EXPECT_EQ(count("items"), 1);
  EXPECT_TRUE(db->exec("SELECT note FROM items").rows.at(0).is_null(0));
  // A later transaction works: the failed one did not leave BEGIN open.
  db->transaction([](sql::Connection& c) { c.exec("INSERT INTO items (name) VALUES ('after')"); });
  EXPECT_EQ(count("items"), 2);
}

TEST_F(SqlTest, TransactionRollsBackOnConflict) {
  sql::migrate(*db, kMigrations);
  db->exec("INSERT INTO items (name) VALUES ('taken')");
  EXPECT_EQ(kind_of([&] {
              db->transaction([](sql::Connection& c) {
                c.exec("INSERT INTO items (name) VALUES ('new')");
                c.exec("INSERT INTO items (name) VALUES ('taken')");
              });
            }),
            toggle::ErrorKind::conflict);
  EXPECT_EQ(count("items"), 1);
}

TEST_F(SqlTest, NullsInRows) {
  sql::migrate(*db, kMigrations);
  db->exec("INSERT INTO items (name, note, qty, price) VALUES ($1, $2, $3, $4)",
           {std::string_view("n"), nullptr, nullptr, nullptr});
  db->exec("INSERT INTO items (name, note, qty) VALUES ($1, $2, $3)",
           {std::string_view("v"), std::string_view(""), int64_t{0}});
  auto rows = db->exec("SELECT note, qty, price FROM items ORDER BY name").rows;
  ASSERT_EQ(rows.size(), 2u);
  const auto& nulls = rows[0];
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(nulls.is_null(i)) << i;
  EXPECT_EQ(nulls.text(0), "");
  EXPECT_EQ(nulls.integer(1), 0);
  EXPECT_FALSE(nulls.boolean(1));
  const auto& values = rows[1];
  EXPECT_FALSE(values.is_null(0)) << "an empty string is not NULL";
  EXPECT_EQ(values.text(0), "");
  EXPECT_FALSE(values.is_null(1));
  EXPECT_EQ(values.integer(1), 0);
  EXPECT_THROW(values.is_null(7), std::out_of_range);
}

TEST_F(SqlTest, AffectedCountsChangedRows) {
  sql::migrate(*db, kMigrations);
  for (const char* name : {"a", "b", "c"}) db->exec("INSERT INTO items (name) VALUES ($1)", {std::string_view(name)});
  EXPECT_EQ(db->exec("UPDATE items SET qty = 1 WHERE name <> $1", {std::string_view("a")}).affected, 2);
  EXPECT_EQ(db->exec("DELETE FROM items WHERE name = $1", {std::string_view("zzz")}).affected, 0);
  EXPECT_EQ(db->exec("DELETE FROM items").affected, 3);
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
