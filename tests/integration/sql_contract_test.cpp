// The SQL driver contract (libs/core sql.hpp, migrate.hpp): what the stores rely on, the same on
// both backends. One suite, run on an SQLite file ("…/sqlite") and on a fresh database of the run's
// PostgreSQL server ("…/postgres"): $n parameters of every type, NULLs, Row accessors, affected
// rows, error kinds, transactions, scripts and migrations. What belongs to one backend only is in
// tests/unit/sql_test.cpp (SQLite: WAL, the legacy schema_migrations table, NUL bytes) and
// tests/postgres/driver_test.cpp (PostgreSQL: the pool, outages, timestamps, the listener).
#include <functional>

#include "harness.hpp"
#include "toggle/core/migrate.hpp"

namespace itest {
namespace {

namespace sql = toggle::sql;
using std::int64_t;

// A table with a column of each kind the stores use. Each dialect's own DDL, as in the services'
// migrations; everything after it is written once.
const std::vector<sql::Migration> kMigrations = {
    {1,
     "CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, note TEXT, qty BIGINT,"
     " price DOUBLE PRECISION, active BOOLEAN NOT NULL DEFAULT false)",
     "CREATE TABLE items (id SERIAL PRIMARY KEY, name TEXT NOT NULL, note TEXT, qty BIGINT,"
     " price DOUBLE PRECISION, active BOOLEAN NOT NULL DEFAULT false)"},
    {2, "CREATE UNIQUE INDEX items_name ON items (name)", "CREATE UNIQUE INDEX items_name ON items (name)"},
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

class SqlContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  int64_t count(const std::string& table) { return db->exec("SELECT COUNT(*) FROM " + table).rows.at(0).integer(0); }
  void insert(std::string_view name) { db->exec("INSERT INTO items (name) VALUES ($1)", {name}); }
  sql::Dialect dialect() const { return GetParam() == Backend::sqlite ? sql::Dialect::sqlite : sql::Dialect::postgres; }

  TempDir dir;
  TestDatabase database{GetParam(), dir, "contract"};
  std::unique_ptr<sql::Database> db = database.open();
};
INSTANTIATE_TEST_SUITE_P(On, SqlContractTest, kBackends, backend_name);

TEST_P(SqlContractTest, DialectAndPing) {
  EXPECT_EQ(db->dialect(), dialect());
  EXPECT_EQ(db->acquire()->dialect(), dialect());
  EXPECT_TRUE(db->ping());
}

// ---------------------------------------------------------------------------------------------
// Statements and parameters

TEST_P(SqlContractTest, DollarParametersBindByNumberNotByPosition) {
  sql::migrate(*db, kMigrations, "test");
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

TEST_P(SqlContractTest, AParameterUsedTwiceBindsOnce) {
  auto r = db->exec("SELECT $1 + $1, $2", {int64_t{21}, std::string_view("x")});
  EXPECT_EQ(r.rows.at(0).integer(0), 42);
  EXPECT_EQ(r.rows.at(0).text(1), "x");
}

TEST_P(SqlContractTest, EveryParameterTypeRoundTrips) {
  sql::migrate(*db, kMigrations, "test");
  // The vector form (what a store builds at run time) and the initializer-list form.
  std::vector<sql::Param> params = {std::string_view("typed"), int64_t{-9000000000}, 2.5, true};
  db->acquire()->exec("INSERT INTO items (name, qty, price, active) VALUES ($1, $2, $3, $4)", params);
  db->exec("INSERT INTO items (name, qty, price, active) VALUES ($1, $2, $3, $4)",
           {std::string_view("other"), int64_t{9000000000}, -0.125, false});
  auto rows = db->exec("SELECT name, qty, price, active FROM items ORDER BY name DESC").rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text(0), "typed");
  EXPECT_EQ(rows[0].integer(1), -9000000000);
  EXPECT_DOUBLE_EQ(std::stod(rows[0].text(2)), 2.5);
  EXPECT_TRUE(rows[0].boolean(3));
  EXPECT_EQ(rows[1].integer(1), 9000000000);
  EXPECT_DOUBLE_EQ(std::stod(rows[1].text(2)), -0.125);
  EXPECT_FALSE(rows[1].boolean(3));
  // Booleans compare as booleans in WHERE clauses, whatever the dialect stores.
  EXPECT_EQ(db->exec("SELECT name FROM items WHERE active = $1", {true}).rows.at(0).text(0), "typed");
}

TEST_P(SqlContractTest, TextKeepsUtf8AndQuotes) {
  const std::string value = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 it's \"quoted\" \\ ; --";
  auto row = db->exec("SELECT $1", {std::string_view(value)}).rows.at(0);
  EXPECT_EQ(row.text(0), value);
}

TEST_P(SqlContractTest, CachedStatementsDoNotKeepOldBindings) {
  sql::migrate(*db, kMigrations, "test");
  const char* insert = "INSERT INTO items (name, note) VALUES ($1, $2)";
  db->exec(insert, {std::string_view("a"), std::string_view("note-a")});
  db->exec(insert, {std::string_view("b"), nullptr});
  auto rows = db->exec("SELECT name, note FROM items ORDER BY name").rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].text(1), "note-a");
  EXPECT_TRUE(rows[1].is_null(1)) << "the second run must not reuse the first run's $2";
}

TEST_P(SqlContractTest, NullsAndRowAccessors) {
  sql::migrate(*db, kMigrations, "test");
  db->exec("INSERT INTO items (name, note, qty, price) VALUES ($1, $2, $3, $4)",
           {std::string_view("n"), nullptr, nullptr, nullptr});
  db->exec("INSERT INTO items (name, note, qty) VALUES ($1, $2, $3)",
           {std::string_view("v"), std::string_view(""), int64_t{0}});
  auto rows = db->exec("SELECT note, qty, price, active FROM items ORDER BY name").rows;
  ASSERT_EQ(rows.size(), 2u);
  const auto& nulls = rows[0];
  for (std::size_t i = 0; i < 3; ++i) EXPECT_TRUE(nulls.is_null(i)) << i;
  EXPECT_EQ(nulls.text(0), "") << "NULL reads as empty text";
  EXPECT_EQ(nulls.integer(1), 0) << "as 0";
  EXPECT_FALSE(nulls.boolean(1)) << "as false";
  EXPECT_FALSE(nulls.is_null(3)) << "a column default";
  EXPECT_FALSE(nulls.boolean(3));
  const auto& values = rows[1];
  EXPECT_FALSE(values.is_null(0)) << "an empty string is not NULL";
  EXPECT_EQ(values.text(0), "");
  EXPECT_FALSE(values.is_null(1));
  EXPECT_EQ(values.integer(1), 0);
  EXPECT_THROW(values.is_null(7), std::out_of_range);
  EXPECT_THROW(values.text(7), std::out_of_range);

  // NULL parameters in expressions: COALESCE keeps the column (the stores' partial updates).
  auto updated = db->exec(
      "UPDATE items SET active = COALESCE($2, active), note = COALESCE($3, note) WHERE name = $1 RETURNING active, note",
      {std::string_view("v"), nullptr, std::string_view("set")});
  ASSERT_EQ(updated.rows.size(), 1u);
  EXPECT_FALSE(updated.rows[0].boolean(0));
  EXPECT_EQ(updated.rows[0].text(1), "set");
}

TEST_P(SqlContractTest, AffectedCountsChangedRows) {
  sql::migrate(*db, kMigrations, "test");
  for (const char* name : {"a", "b", "c"}) insert(name);
  EXPECT_EQ(db->exec("UPDATE items SET qty = 1 WHERE name <> $1", {std::string_view("a")}).affected, 2);
  EXPECT_EQ(db->exec("DELETE FROM items WHERE name = $1", {std::string_view("zzz")}).affected, 0);
  EXPECT_EQ(db->exec("SELECT name FROM items").rows.size(), 3u);
  EXPECT_EQ(db->exec("DELETE FROM items").affected, 3);
}

TEST_P(SqlContractTest, ReturningGivesTheWrittenRows) {
  sql::migrate(*db, kMigrations, "test");
  auto first = db->exec("INSERT INTO items (name) VALUES ($1) RETURNING id, name", {std::string_view("a")});
  auto second = db->exec("INSERT INTO items (name) VALUES ($1) RETURNING id, name", {std::string_view("b")});
  ASSERT_EQ(first.rows.size(), 1u);
  EXPECT_EQ(first.rows[0].text(1), "a");
  EXPECT_GT(second.rows.at(0).integer(0), first.rows[0].integer(0)) << "ids grow";
  auto conflict_free = db->exec("INSERT INTO items (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
                                {std::string_view("a")});
  EXPECT_TRUE(conflict_free.rows.empty()) << "ON CONFLICT DO NOTHING returns nothing for the existing row";
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST_P(SqlContractTest, UniqueAndPrimaryKeyViolationsAreConflicts) {
  sql::migrate(*db, kMigrations, "test");
  insert("dup");
  EXPECT_EQ(kind_of([&] { insert("dup"); }), toggle::ErrorKind::conflict);
  int64_t id = db->exec("SELECT id FROM items").rows.at(0).integer(0);
  EXPECT_EQ(kind_of([&] { db->exec("INSERT INTO items (id, name) VALUES ($1, 'other')", {id}); }),
            toggle::ErrorKind::conflict);
  EXPECT_EQ(count("items"), 1);
  insert("after the errors");
  EXPECT_EQ(count("items"), 2) << "the connection stays usable";
}

TEST_P(SqlContractTest, OtherErrorsAreInternal) {
  sql::migrate(*db, kMigrations, "test");
  EXPECT_EQ(kind_of([&] { db->exec("SELEKT nonsense"); }), toggle::ErrorKind::internal);
  EXPECT_EQ(kind_of([&] { db->exec("SELECT missing_column FROM items"); }), toggle::ErrorKind::internal);
  EXPECT_EQ(kind_of([&] { db->exec("SELECT * FROM missing_table"); }), toggle::ErrorKind::internal);
  EXPECT_EQ(kind_of([&] { db->exec("INSERT INTO items (name) VALUES (NULL)"); }), toggle::ErrorKind::internal)
      << "NOT NULL is not a conflict";
  insert("after the errors");
  EXPECT_EQ(count("items"), 1) << "the connection stays usable";
}

TEST_P(SqlContractTest, AnErrorIsAToggleErrorWithACodeAndAPublicMessage) {
  sql::migrate(*db, kMigrations, "test");
  insert("dup");
  try {
    insert("dup");
    FAIL() << "no error";
  } catch (const toggle::Error& e) {
    EXPECT_EQ(e.kind(), toggle::ErrorKind::conflict);
    EXPECT_EQ(e.code(), "conflict");
    EXPECT_EQ(e.public_message(), "already exists");
    EXPECT_STRNE(e.what(), "") << "the driver's text, for the log";
  }
  try {
    db->exec("SELEKT secret_table_name");
    FAIL() << "no error";
  } catch (const toggle::Error& e) {
    EXPECT_EQ(e.code(), "internal");
    EXPECT_EQ(e.public_message().find("secret_table_name"), std::string::npos) << "SQL is not shown to clients";
  }
}

// ---------------------------------------------------------------------------------------------
// Transactions and scripts

TEST_P(SqlContractTest, ATransactionCommitsWhenTheWorkReturns) {
  sql::migrate(*db, kMigrations, "test");
  int64_t n = db->transaction([](sql::Connection& c) {
    c.exec("INSERT INTO items (name) VALUES ($1)", {std::string_view("one")});
    c.exec("INSERT INTO items (name) VALUES ($1)", {std::string_view("two")});
    return c.exec("SELECT COUNT(*) FROM items").rows.at(0).integer(0);
  });
  EXPECT_EQ(n, 2);
  db->transaction([](sql::Connection& c) { c.exec("INSERT INTO items (name) VALUES ('three')"); });
  EXPECT_EQ(count("items"), 3);
  auto fresh = database.open();
  EXPECT_EQ(fresh->exec("SELECT COUNT(*) FROM items").rows.at(0).integer(0), 3) << "visible to other connections";
}

TEST_P(SqlContractTest, ATransactionRollsBackWhenTheWorkThrows) {
  sql::migrate(*db, kMigrations, "test");
  insert("before");
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

TEST_P(SqlContractTest, ATransactionRollsBackOnAConflict) {
  sql::migrate(*db, kMigrations, "test");
  insert("taken");
  EXPECT_EQ(kind_of([&] {
              db->transaction([](sql::Connection& c) {
                c.exec("INSERT INTO items (name) VALUES ('new')");
                c.exec("INSERT INTO items (name) VALUES ('taken')");
              });
            }),
            toggle::ErrorKind::conflict);
  EXPECT_EQ(count("items"), 1);
  EXPECT_TRUE(db->exec("SELECT 1 FROM items WHERE name = 'new'").rows.empty());
}

// A unit of work that ended with a transaction still open (a bug, or an error during ROLLBACK)
// must not hand it to the next one: its writes are not committed, the next unit starts clean.
TEST_P(SqlContractTest, ATransactionLeftOpenIsNotHandedToTheNextUnitOfWork) {
  sql::migrate(*db, kMigrations, "test");
  {
    auto c = db->acquire();
    c->exec("BEGIN");
    c->exec("INSERT INTO items (name) VALUES ('left open')");
  }
  EXPECT_EQ(count("items"), 0);
  db->transaction([](sql::Connection& c) { c.exec("INSERT INTO items (name) VALUES ('next')"); });
  auto fresh = database.open();
  EXPECT_EQ(fresh->exec("SELECT name FROM items").rows.size(), 1u) << "the next unit of work committed on its own";
}

TEST_P(SqlContractTest, ScriptsRunSeveralStatements) {
  db->acquire()->script("CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);");
  EXPECT_EQ(count("a"), 2);
  EXPECT_THROW(db->acquire()->script("INSERT INTO a VALUES (3); NOT SQL"), sql::Error);
}

// ---------------------------------------------------------------------------------------------
// Migrations

int64_t applied(sql::Database& db, const std::string& component) {
  return db.exec("SELECT COUNT(*) FROM schema_migrations WHERE component = $1", {std::string_view(component)})
      .rows.at(0)
      .integer(0);
}

TEST_P(SqlContractTest, MigrationsAreAppliedOnceInOrder) {
  sql::migrate(*db, kMigrations, "svc");  // 2 needs the table of 1: it only works in order
  insert("kept");
  ASSERT_NO_THROW(sql::migrate(*db, kMigrations, "svc")) << "a second run must not re-apply anything";
  EXPECT_EQ(count("items"), 1) << "1 did not run again";
  auto rows = db->exec("SELECT version, applied_at FROM schema_migrations WHERE component = 'svc' ORDER BY version")
                  .rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].integer(0), 1);
  EXPECT_EQ(rows[1].integer(0), 2);
  EXPECT_TRUE(is_iso8601_utc(rows[0].text(1))) << rows[0].text(1);
  EXPECT_EQ(kind_of([&] { insert("kept"); }), toggle::ErrorKind::conflict) << "2 (the unique index) is in place";
}

TEST_P(SqlContractTest, OnlyNewMigrationsAreApplied) {
  sql::migrate(*db, kMigrations, "svc");
  insert("kept");
  auto more = kMigrations;
  more.push_back({3, "ALTER TABLE items ADD COLUMN extra TEXT", "ALTER TABLE items ADD COLUMN extra TEXT"});
  sql::migrate(*db, more, "svc");
  EXPECT_EQ(count("items"), 1) << "earlier migrations must not run again";
  EXPECT_EQ(applied(*db, "svc"), 3);
  EXPECT_NO_THROW(db->exec("SELECT extra FROM items"));
}

TEST_P(SqlContractTest, AFailedMigrationIsRolledBackAndNotRecorded) {
  sql::migrate(*db, kMigrations, "svc");
  auto bad = kMigrations;
  bad.push_back({3, "ALTER TABLE items ADD COLUMN extra TEXT; NOT SQL", "ALTER TABLE items ADD COLUMN extra TEXT; NOT SQL"});
  EXPECT_THROW(sql::migrate(*db, bad, "svc"), sql::Error);
  EXPECT_EQ(applied(*db, "svc"), 2);
  EXPECT_THROW(db->exec("SELECT extra FROM items"), sql::Error) << "rolled back with the migration";
  // Fixed, it is applied at the next start.
  bad.back() = {3, "ALTER TABLE items ADD COLUMN extra TEXT", "ALTER TABLE items ADD COLUMN extra TEXT"};
  sql::migrate(*db, bad, "svc");
  EXPECT_NO_THROW(db->exec("SELECT extra FROM items"));
}

TEST_P(SqlContractTest, ComponentsSharingADatabaseKeepTheirOwnVersions) {
  sql::migrate(*db, kMigrations, "one");
  const std::vector<sql::Migration> other = {
      {1, "CREATE TABLE other_items (x INTEGER)", "CREATE TABLE other_items (x INTEGER)"}};
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

TEST_P(SqlContractTest, MigrationsSurviveReopening) {
  sql::migrate(*db, kMigrations, "svc");
  db.reset();
  db = database.open();
  EXPECT_NO_THROW(sql::migrate(*db, kMigrations, "svc"));
  EXPECT_EQ(applied(*db, "svc"), 2);
}

TEST_P(SqlContractTest, AnEmptyScriptRecordsTheVersionOnly) {
  // A migration for one dialect only (e.g. PostgreSQL had a table from the start).
  const std::vector<sql::Migration> one_sided = {{1, "", ""}, {2, "CREATE TABLE z (x INTEGER)", "CREATE TABLE z (x INTEGER)"}};
  sql::migrate(*db, one_sided, "svc");
  EXPECT_EQ(applied(*db, "svc"), 2);
}

}  // namespace
}  // namespace itest
