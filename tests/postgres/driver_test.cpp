// sql::Database on a real PostgreSQL (libs/core/src/postgres.cpp): parameters, types, timestamps,
// error kinds, transactions, the pool, broken connections, migrations and the LISTEN connection.
// Each test has a fresh database on the run's server.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "postgres_server.hpp"
#include "toggle/core/postgres.hpp"
#include "toggle/core/database.hpp"
#include "toggle/core/migrate.hpp"
#include "toggle/core/sql.hpp"

namespace {

namespace sql = toggle::sql;
using namespace std::chrono_literals;
using std::int64_t;

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

toggle::ErrorKind kind_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const sql::Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no sql::Error thrown";
  return toggle::ErrorKind::internal;
}

class PostgresDriverTest : public testing::Test {
 protected:
  std::unique_ptr<sql::Database> open(std::size_t pool_size = 4, std::chrono::milliseconds acquire_timeout = 5000ms) {
    sql::Options options;
    options.pool_size = pool_size;
    options.acquire_timeout = acquire_timeout;
    return sql::open_database(scratch.url(), "", options);
  }
  // Statements as the server's superuser on this test's database, outside the pool under test.
  void admin(const std::string& statement) { sql::open_postgres(scratch.url())->exec(statement); }
  int64_t count(const std::string& table) { return db->exec("SELECT COUNT(*) FROM " + table).rows.at(0).integer(0); }

  testsupport::ScratchDatabase scratch;
  std::unique_ptr<sql::Database> db = open();
};

TEST_F(PostgresDriverTest, DialectAndPing) {
  EXPECT_EQ(db->dialect(), sql::Dialect::postgres);
  EXPECT_TRUE(db->ping());
  EXPECT_EQ(db->acquire()->dialect(), sql::Dialect::postgres);
}

TEST_F(PostgresDriverTest, ParametersBindByNumberWithTheirTypes) {
  db->exec(
      "CREATE TABLE items (id SERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, note TEXT, qty BIGINT, "
      "price DOUBLE PRECISION, active BOOLEAN NOT NULL DEFAULT false, doc JSONB, at TIMESTAMPTZ)");
  auto r = db->exec("INSERT INTO items (note, name, qty, price, active) VALUES ($2, $1, $3, $4, $5)",
                    {std::string_view("the-name"), std::string_view("the-note"), int64_t{-9000000000}, 2.5, true});
  EXPECT_EQ(r.affected, 1);
  auto row = db->exec("SELECT name, note, qty, price, active FROM items").rows.at(0);
  EXPECT_EQ(row.text(0), "the-name");
  EXPECT_EQ(row.text(1), "the-note");
  EXPECT_EQ(row.integer(2), -9000000000);
  EXPECT_DOUBLE_EQ(std::stod(row.text(3)), 2.5);
  EXPECT_EQ(row.text(4), "t") << "PostgreSQL booleans are t/f";
  EXPECT_TRUE(row.boolean(4));

  auto twice = db->exec("SELECT $1 + $1, $2, $3 || $2", {int64_t{21}, std::string_view("x"), std::string_view("y")});
  EXPECT_EQ(twice.rows.at(0).integer(0), 42);
  EXPECT_EQ(twice.rows.at(0).text(1), "x");
  EXPECT_EQ(twice.rows.at(0).text(2), "yx");

  // NULL, and strings where the column says the type (JSONB, TIMESTAMPTZ, BOOLEAN via COALESCE).
  db->exec("INSERT INTO items (name, note, doc, at) VALUES ($1, $2, $3, $4)",
           {std::string_view("n"), nullptr, std::string_view(R"({"b":[1,2],"a":"x"})"),
            std::string_view("2026-11-25T13:31:05.111Z")});
  auto n = db->exec("SELECT note, qty, doc, at FROM items WHERE name = $1", {std::string_view("n")}).rows.at(0);
  EXPECT_TRUE(n.is_null(0));
  EXPECT_TRUE(n.is_null(1));
  EXPECT_EQ(n.text(2), R"({"a": "x", "b": [1, 2]})") << "JSONB prints its own way";
  EXPECT_EQ(n.text(3), "2026-11-25T13:31:05.111Z");
  auto updated = db->exec(
      "UPDATE items SET active = COALESCE($2, active), note = COALESCE($3, note) WHERE name = $1 "
      "RETURNING active, note",
      {std::string_view("n"), nullptr, std::string_view("")});
  EXPECT_FALSE(updated.rows.at(0).boolean(0));
  EXPECT_FALSE(updated.rows.at(0).is_null(1)) << "an empty string is not NULL";
}

TEST_F(PostgresDriverTest, TimestampsComeBackAsIso8601UtcWithMilliseconds) {
  auto row = db->exec(
                   "SELECT TIMESTAMPTZ '2026-11-25 13:31:05.111999+02', TIMESTAMP '2026-01-02 03:04:05', "
                   "$1::timestamptz, TIMESTAMPTZ 'infinity', TIMESTAMPTZ '2026-03-01 00:00:00.5-03:30', "
                   "now()::text",
                   {std::string_view("2026-11-25T13:31:05.111Z")})
                 .rows.at(0);
  EXPECT_EQ(row.text(0), "2026-11-25T11:31:05.111Z") << "UTC, milliseconds truncated";
  EXPECT_EQ(row.text(1), "2026-01-02T03:04:05.000Z") << "TIMESTAMP without a zone is UTC";
  EXPECT_EQ(row.text(2), "2026-11-25T13:31:05.111Z") << "what the stores write comes back unchanged";
  EXPECT_EQ(row.text(3), "infinity");
  EXPECT_EQ(row.text(4), "2026-03-01T03:30:00.500Z");
  EXPECT_NE(row.text(5).find("+00"), std::string::npos) << "the session is in UTC: " << row.text(5);
}

TEST_F(PostgresDriverTest, TheSessionIsUtcAndIsoWhateverTheDatabaseDefaults) {
  admin("ALTER DATABASE " + scratch.name() + " SET TimeZone = 'America/Sao_Paulo'");
  admin("ALTER DATABASE " + scratch.name() + " SET DateStyle = 'SQL, DMY'");
  auto fresh = open();
  auto row = fresh->exec("SELECT current_setting('TimeZone'), TIMESTAMPTZ '2026-11-25 10:31:05.111-03'").rows.at(0);
  EXPECT_EQ(row.text(0), "UTC");
  EXPECT_EQ(row.text(1), "2026-11-25T13:31:05.111Z");
}

TEST_F(PostgresDriverTest, ErrorKinds) {
  db->exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
  db->exec("INSERT INTO items VALUES (1, 'dup')");
  EXPECT_EQ(kind_of([&] { db->exec("INSERT INTO items VALUES (2, $1)", {std::string_view("dup")}); }),
            toggle::ErrorKind::conflict);
  EXPECT_EQ(kind_of([&] { db->exec("INSERT INTO items VALUES (1, 'other')"); }), toggle::ErrorKind::conflict);
  EXPECT_EQ(kind_of([&] { db->exec("SELEKT nonsense"); }), toggle::ErrorKind::internal);
  EXPECT_EQ(kind_of([&] { db->exec("SELECT missing FROM items"); }), toggle::ErrorKind::internal);
  EXPECT_EQ(kind_of([&] { db->exec("INSERT INTO items VALUES (3, NULL)"); }), toggle::ErrorKind::internal)
      << "NOT NULL is not a conflict";
  std::string nul("a\0b", 3);
  EXPECT_EQ(kind_of([&] { db->exec("SELECT $1", {std::string_view(nul)}); }), toggle::ErrorKind::internal)
      << "PostgreSQL text cannot hold NUL: refused rather than cut short";
  db->exec("INSERT INTO items VALUES (2, 'after errors')");
  EXPECT_EQ(count("items"), 2) << "connections stay usable after errors";
}

TEST_F(PostgresDriverTest, TransactionsCommitAndRollBack) {
  db->exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
  int64_t n = db->transaction([](sql::Connection& c) {
    c.exec("INSERT INTO items VALUES (1, 'one')");
    c.exec("INSERT INTO items VALUES (2, 'two')");
    return c.exec("SELECT COUNT(*) FROM items").rows.at(0).integer(0);
  });
  EXPECT_EQ(n, 2);
  EXPECT_THROW(db->transaction([](sql::Connection& c) {
    c.exec("INSERT INTO items VALUES (3, 'three')");
    throw std::runtime_error("abort");
  }),
               std::runtime_error);
  EXPECT_EQ(kind_of([&] {
              db->transaction([](sql::Connection& c) {
                c.exec("INSERT INTO items VALUES (4, 'four')");
                c.exec("INSERT INTO items VALUES (5, 'one')");
              });
            }),
            toggle::ErrorKind::conflict);
  EXPECT_EQ(count("items"), 2);
  // A unit of work that left a transaction open does not hand it to the next one.
  {
    auto c = db->acquire();
    c->exec("BEGIN");
    c->exec("INSERT INTO items VALUES (6, 'left open')");
  }
  EXPECT_EQ(count("items"), 2);
  db->transaction([](sql::Connection& c) { c.exec("INSERT INTO items VALUES (7, 'seven')"); });
  EXPECT_EQ(count("items"), 3);
}

TEST_F(PostgresDriverTest, ScriptsRunSeveralStatements) {
  db->acquire()->script("CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);");
  EXPECT_EQ(count("a"), 2);
  EXPECT_THROW(db->acquire()->script("INSERT INTO a VALUES (3); NOT SQL"), sql::Error);
  EXPECT_EQ(count("a"), 2) << "a script is one implicit transaction";
}

TEST_F(PostgresDriverTest, AFullPoolMakesCallersWaitThenFailAsUnavailable) {
  auto small = open(2, 300ms);
  auto a = small->acquire();
  auto b = small->acquire();
  EXPECT_EQ(kind_of([&] { small->acquire(); }), toggle::ErrorKind::unavailable);
  EXPECT_FALSE(small->ping());

  // A caller waiting for a connection gets the one returned.
  auto waiting =
      std::async(std::launch::async, [&] { return small->acquire()->exec("SELECT 7").rows.at(0).integer(0); });
  std::this_thread::sleep_for(50ms);
  a.reset();
  EXPECT_EQ(waiting.get(), 7);
  b.reset();
  EXPECT_TRUE(small->ping());
}

TEST_F(PostgresDriverTest, ConnectionsAreReused) {
  auto one = open(1);
  int64_t pid = one->exec("SELECT pg_backend_pid()").rows.at(0).integer(0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(one->exec("SELECT pg_backend_pid()").rows.at(0).integer(0), pid);
}

TEST_F(PostgresDriverTest, AConnectionTerminatedWhileIdleIsReplacedOnTheNextAcquire) {
  auto one = open(1);
  int64_t pid = one->exec("SELECT pg_backend_pid()").rows.at(0).integer(0);
  admin("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
  auto row = one->exec("SELECT pg_backend_pid()").rows.at(0);  // no error: replaced before use
  EXPECT_NE(row.integer(0), pid);
}

TEST_F(PostgresDriverTest, AConnectionTerminatedInUseIsUnavailableThenReplaced) {
  auto one = open(1);
  {
    auto c = one->acquire();
    int64_t pid = c->exec("SELECT pg_backend_pid()").rows.at(0).integer(0);
    c->exec("BEGIN");
    admin("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
    EXPECT_EQ(kind_of([&] { c->exec("SELECT 1"); }), toggle::ErrorKind::unavailable);
  }
  EXPECT_TRUE(one->ping()) << "the broken connection was not handed out again";
}

TEST_F(PostgresDriverTest, MigrationsRunOnceAndFailedOnesAreNotRecorded) {
  const std::vector<sql::Migration> migrations = {
      {1, "-- sqlite", "CREATE TABLE items (id SERIAL PRIMARY KEY, name TEXT NOT NULL)"},
      {2, "-- sqlite", "CREATE UNIQUE INDEX items_name ON items (name)"},
  };
  sql::migrate(*db, migrations, "svc");
  db->exec("INSERT INTO items (name) VALUES ('kept')");
  ASSERT_NO_THROW(sql::migrate(*db, migrations, "svc"));
  EXPECT_EQ(count("items"), 1);
  EXPECT_EQ(db->exec("SELECT COUNT(*) FROM schema_migrations WHERE component = 'svc'").rows.at(0).integer(0), 2);

  auto bad = migrations;
  bad.push_back({3, "", "ALTER TABLE items ADD COLUMN extra TEXT; NOT SQL"});
  EXPECT_THROW(sql::migrate(*db, bad, "svc"), sql::Error);
  EXPECT_TRUE(db->exec("SELECT 1 FROM schema_migrations WHERE version = 3").rows.empty());
  EXPECT_THROW(db->exec("SELECT extra FROM items"), sql::Error) << "rolled back with the migration";
}

TEST_F(PostgresDriverTest, AnUnreachableServerIsUnavailable) {
  auto nowhere = sql::open_postgres("postgresql://postgres@127.0.0.1:1/none");
  EXPECT_EQ(kind_of([&] { nowhere->exec("SELECT 1"); }), toggle::ErrorKind::unavailable);
  EXPECT_FALSE(nowhere->ping());
}

// ---------------------------------------------------------------------------------------------
// Listener

TEST_F(PostgresDriverTest, TheListenerDeliversNotificationsAndReconnects) {
  std::mutex m;
  std::vector<std::string> payloads;
  std::atomic<int> connected{0};
  sql::Listener listener(scratch.url(), "toggle_test_channel",
                         {[&](const std::string& p) {
                            std::lock_guard lock(m);
                            payloads.push_back(p);
                          },
                          [&] { ++connected; }});
  ASSERT_TRUE(eventually([&] { return listener.connected(); }));
  EXPECT_EQ(connected.load(), 1);
  auto received = [&](const std::string& p) {
    return eventually([&] {
      std::lock_guard lock(m);
      return std::find(payloads.begin(), payloads.end(), p) != payloads.end();
    });
  };

  db->exec("SELECT pg_notify('toggle_test_channel', '41')");
  EXPECT_TRUE(received("41"));
  // Delivered at commit, not before; not at all after a rollback.
  {
    auto c = db->acquire();
    c->exec("BEGIN");
    c->exec("SELECT pg_notify('toggle_test_channel', 'rolled-back')");
    c->exec("ROLLBACK");
    c->exec("BEGIN");
    c->exec("SELECT pg_notify('toggle_test_channel', '42')");
    std::this_thread::sleep_for(100ms);
    {
      std::lock_guard lock(m);
      EXPECT_EQ(payloads.size(), 1u) << "delivered before the commit";
    }
    c->exec("COMMIT");
  }
  EXPECT_TRUE(received("42"));

  // Its connection is terminated: it reconnects, and says so (the owner catches up then).
  int64_t pid = db->exec("SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND datname = $1",
                         {std::string_view(scratch.name())})
                    .rows.at(0)
                    .integer(0);
  admin("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 5000)");
  ASSERT_TRUE(eventually([&] { return connected.load() == 2 && listener.connected(); }));
  EXPECT_EQ(listener.connections(), 2);
  db->exec("SELECT pg_notify('toggle_test_channel', '43')");
  EXPECT_TRUE(received("43"));
  std::lock_guard lock(m);
  EXPECT_EQ(std::count(payloads.begin(), payloads.end(), "rolled-back"), 0);
}

}  // namespace
