// What is PostgreSQL's own in the SQL layer (libs/core/src/postgres.cpp), on a real server: its
// types (t/f, JSONB, timestamps read back as ISO-8601 UTC whatever the session's settings), text
// without NUL bytes, scripts as one transaction, the pool, broken and unreachable connections, and
// the LISTEN connection. Each test has a fresh database on the run's server. The driver contract
// both backends share is one suite in tests/integration/sql_contract_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "postgres_server.hpp"
#include "toggle/core/postgres.hpp"
#include "toggle/core/database.hpp"
#include "toggle/core/migrate.hpp"
#include "toggle/core/sql.hpp"

namespace {

namespace sql = toggle::sql;
using namespace std::chrono_literals;
using std::int64_t;

using testsupport::eventually;

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

TEST_F(PostgresDriverTest, ItsOwnTypesAsText) {
  db->exec("CREATE TABLE items (name TEXT PRIMARY KEY, active BOOLEAN, doc JSONB, at TIMESTAMPTZ)");
  db->exec("INSERT INTO items VALUES ($1, $2, $3, $4)",
           {std::string_view("n"), true, std::string_view(R"({"b":[1,2],"a":"x"})"),
            std::string_view("2026-11-25T13:31:05.111Z")});
  auto row = db->exec("SELECT active, doc, at FROM items").rows.at(0);
  EXPECT_EQ(row.text(0), "t") << "PostgreSQL booleans are t/f";
  EXPECT_TRUE(row.boolean(0));
  EXPECT_EQ(row.text(1), R"({"a": "x", "b": [1, 2]})") << "JSONB prints its own way";
  EXPECT_EQ(row.text(2), "2026-11-25T13:31:05.111Z") << "strings where the column says the type";
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

TEST_F(PostgresDriverTest, TextWithANulByteIsRefusedNotCutShort) {
  std::string nul("a\0b", 3);
  EXPECT_EQ(kind_of([&] { db->exec("SELECT $1", {std::string_view(nul)}); }), toggle::ErrorKind::internal)
      << "PostgreSQL text cannot hold NUL";
  EXPECT_EQ(db->exec("SELECT 1").rows.at(0).integer(0), 1) << "the connection stays usable";
}

TEST_F(PostgresDriverTest, AScriptIsOneImplicitTransaction) {
  db->acquire()->script("CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2);");
  EXPECT_EQ(count("a"), 2);
  EXPECT_THROW(db->acquire()->script("INSERT INTO a VALUES (3); NOT SQL"), sql::Error);
  EXPECT_EQ(count("a"), 2) << "a script is one implicit transaction";
}

// Two writers that lock the same rows in opposite orders (as a flag PUT and a DELETE can) make
// PostgreSQL abort one of them with a deadlock (40P01). The loser's transaction is run again, so
// both writes succeed: neither caller sees a 500.
TEST_F(PostgresDriverTest, ATransactionThatLosesADeadlockIsRunAgain) {
  db->exec("CREATE TABLE pair (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
  db->exec("INSERT INTO pair VALUES (1, 0), (2, 0)");
  std::atomic<int> arrived{0};
  std::atomic<int> runs{0};
  auto writer = [&](int first, int second) {
    db->transaction([&](sql::Connection& c) {
      bool first_run = runs.fetch_add(1) < 2;
      c.exec("UPDATE pair SET v = v + 1 WHERE id = $1", {int64_t{first}});
      if (first_run) {  // both hold their first row before either asks for its second
        arrived.fetch_add(1);
        for (int i = 0; i < 200 && arrived.load() < 2; ++i) std::this_thread::sleep_for(10ms);
      }
      c.exec("UPDATE pair SET v = v + 1 WHERE id = $1", {int64_t{second}});
    });
  };
  auto a = std::async(std::launch::async, writer, 1, 2);
  auto b = std::async(std::launch::async, writer, 2, 1);
  EXPECT_NO_THROW(a.get());
  EXPECT_NO_THROW(b.get());
  EXPECT_EQ(runs.load(), 3) << "one of the two was run again";
  EXPECT_EQ(db->exec("SELECT SUM(v) FROM pair").rows.at(0).integer(0), 4) << "each write applied once";
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
