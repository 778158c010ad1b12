// The Table API client against azurite (the run's shared server, ctest fixture `azurite`), which
// checks SharedKey / SharedKeyLite signatures as Cosmos DB's Table API does. Each test uses
// tables of its own.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <set>

#include "azure_servers.hpp"
#include "toggle/cloud/cosmos_table_client.hpp"

using namespace toggle::cloud;
using namespace std::chrono_literals;

namespace {

TableConnectionString azurite() {
  return parse_table_connection_string(testsupport::shared_server("azurite.sh", "TOGGLE_TEST_AZURITE_STATE"));
}

std::string new_table() {
  std::random_device random;
  return "t" + std::to_string(random()) + std::to_string(random() % 1000);
}

TableEntity event(const std::string& flag, const std::string& id) {
  return {flag, id, {{"event_id", id}, {"flag_name", flag}, {"user_id", std::string("user-1")}, {"result", true}}, ""};
}

TableDateTime utc(int y, unsigned m, unsigned d, int h, int min, int s, int micros) {
  using namespace std::chrono;
  return {sys_days(year(y) / month(m) / day(d)) + hours(h) + minutes(min) + seconds(s) + microseconds(micros)};
}

}  // namespace

TEST(TableAzurite, CreateTableIsIdempotent) {
  TableClient tables(azurite());
  auto name = new_table();
  EXPECT_TRUE(tables.create_table(name));
  EXPECT_FALSE(tables.create_table(name));  // 409 TableAlreadyExists is fine
  EXPECT_TRUE(tables.delete_table(name));
  EXPECT_FALSE(tables.delete_table(name));
}

TEST(TableAzurite, InsertTwiceIsAlreadyExistsAndTypesRoundTrip) {
  TableClient tables(azurite());
  auto name = new_table();
  tables.create_table(name);
  TableEntity e{"flag-a", "0190c4f0-0000-7000-8000-000000000001", {}, ""};
  e.properties["event_id"] = e.row_key;
  e.properties["result"] = false;
  e.properties["count"] = std::int64_t{9007199254740993};  // beyond a double's integers
  e.properties["ratio"] = 0.5;
  e.properties["stored_at"] = utc(2025, 6, 11, 17, 3, 7, 123456);
  e.properties["timestamp"] = std::string("2025-06-11T17:03:07.123456789Z");  // the event's, not Timestamp
  auto first = tables.insert_entity(name, e);
  EXPECT_EQ(first.outcome, TableWrite::done);
  EXPECT_FALSE(first.etag.empty());
  EXPECT_EQ(tables.insert_entity(name, e).outcome, TableWrite::already_exists);

  auto got = tables.get_entity(name, e.partition_key, e.row_key);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->properties, e.properties);
  EXPECT_EQ(got->etag, first.etag);
  EXPECT_FALSE(tables.get_entity(name, "flag-a", "missing"));
}

TEST(TableAzurite, KeysWithSpacesQuotesAndUnicode) {
  TableClient tables(azurite());
  auto name = new_table();
  tables.create_table(name);
  TableEntity e{"flag a'b \u00e9", "user:1 (x)", {{"v", std::int64_t{1}}}, ""};
  ASSERT_EQ(tables.insert_entity(name, e).outcome, TableWrite::done);
  auto got = tables.get_entity(name, e.partition_key, e.row_key);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->partition_key, e.partition_key);
  EXPECT_EQ(got->row_key, e.row_key);
  auto page = tables.query(name, {"PartitionKey eq " + odata_string(e.partition_key), 0, {}, "", ""});
  ASSERT_EQ(page.entities.size(), 1u);
  EXPECT_EQ(page.entities[0].row_key, e.row_key);
}

TEST(TableAzurite, BatchOfOneHundredAndQueryWithContinuation) {
  TableClient tables(azurite());
  auto name = new_table();
  tables.create_table(name);
  std::vector<TableOperation> batch;
  for (int i = 0; i < 100; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "e%03d", i);
    batch.push_back({TableOperation::Kind::insert, event("flag-a", id)});
  }
  auto result = tables.submit_batch(name, batch);
  ASSERT_TRUE(result.committed) << result.status << " " << result.code << " " << result.message;
  ASSERT_EQ(result.etags.size(), 100u);
  ASSERT_TRUE(tables.insert_entity(name, event("flag-b", "other")).ok());

  // 100 entities of flag-a, 30 a page: 4 pages joined by continuation tokens.
  TableQuery query{"PartitionKey eq 'flag-a'", 30, {"event_id", "result"}, "", ""};
  std::vector<std::string> ids;
  int pages = 0;
  for (;;) {
    auto page = tables.query(name, query);
    ++pages;
    for (const auto& e : page.entities) {
      ids.push_back(e.row_key);
      EXPECT_EQ(*e.get<std::string>("event_id"), e.row_key);
      EXPECT_EQ(e.get<std::string>("user_id"), nullptr);  // not selected
    }
    if (!page.more()) break;
    query.next_partition_key = page.next_partition_key;
    query.next_row_key = page.next_row_key;
    ASSERT_LT(pages, 20);
  }
  EXPECT_EQ(pages, 4);
  ASSERT_EQ(ids.size(), 100u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 100u);
  EXPECT_EQ(ids.front(), "e000");
  EXPECT_EQ(ids.back(), "e099");
}

TEST(TableAzurite, FailedBatchNamesTheOperationAndWritesNothing) {
  TableClient tables(azurite());
  auto name = new_table();
  tables.create_table(name);
  ASSERT_TRUE(tables.insert_entity(name, event("flag-a", "e3")).ok());
  std::vector<TableOperation> batch;
  for (int i = 0; i < 6; ++i) batch.push_back({TableOperation::Kind::insert, event("flag-a", "e" + std::to_string(i))});
  auto result = tables.submit_batch(name, batch);
  EXPECT_FALSE(result.committed);
  EXPECT_EQ(result.failed_index, 3);
  EXPECT_EQ(result.status, 409);
  EXPECT_EQ(result.code, "EntityAlreadyExists");
  auto page = tables.query(name, {"PartitionKey eq 'flag-a'", 0, {}, "", ""});
  ASSERT_EQ(page.entities.size(), 1u);  // all or nothing: only the one inserted before
  EXPECT_EQ(page.entities[0].row_key, "e3");

  // Without the duplicate the rest goes in; an upsert in a batch does not conflict.
  batch.erase(batch.begin() + 3);
  batch.push_back({TableOperation::Kind::upsert_replace, event("flag-a", "e3")});
  EXPECT_TRUE(tables.submit_batch(name, batch).committed);
  EXPECT_EQ(tables.query(name, {"PartitionKey eq 'flag-a'", 0, {}, "", ""}).entities.size(), 6u);
}

TEST(TableAzurite, BatchRulesAreCheckedBeforeSending) {
  TableClient tables(azurite());
  std::vector<TableOperation> too_many(101, {TableOperation::Kind::insert, event("p", "r")});
  for (int i = 0; i < 101; ++i) too_many[i].entity.row_key = "r" + std::to_string(i);
  EXPECT_THROW(tables.submit_batch("anytable", too_many), std::invalid_argument);
  EXPECT_THROW(tables.submit_batch("anytable", {}), std::invalid_argument);
  EXPECT_THROW(tables.submit_batch("anytable", {{TableOperation::Kind::insert, event("p", "r1")},
                                                {TableOperation::Kind::insert, event("q", "r2")}}),
               std::invalid_argument);
  EXPECT_THROW(tables.submit_batch("anytable", {{TableOperation::Kind::insert, event("p", "r1")},
                                                {TableOperation::Kind::merge, event("p", "r1")}}),
               std::invalid_argument);
}

TEST(TableAzurite, ETagsGuardConcurrentUpdates) {
  TableClient tables(azurite());
  auto name = new_table();
  tables.create_table(name);
  TableEntity counter{"counters", "flag-a", {{"evaluations", std::int64_t{0}}}, ""};
  ASSERT_TRUE(tables.insert_entity(name, counter).ok());
  auto read = *tables.get_entity(name, "counters", "flag-a");

  // Two writers read the same version; the first update wins, the second gets 412.
  TableEntity first = read, second = read;
  first.properties["evaluations"] = std::int64_t{1};
  second.properties["evaluations"] = std::int64_t{1};
  auto won = tables.update_entity(name, first, TableUpdateMode::merge);
  EXPECT_EQ(won.outcome, TableWrite::done);
  EXPECT_NE(won.etag, read.etag);
  EXPECT_EQ(tables.update_entity(name, second, TableUpdateMode::merge).outcome, TableWrite::precondition_failed);
  // The loser reads again and retries.
  auto again = *tables.get_entity(name, "counters", "flag-a");
  EXPECT_EQ(*again.get<std::int64_t>("evaluations"), 1);
  again.properties["evaluations"] = std::int64_t{2};
  EXPECT_EQ(tables.update_entity(name, again, TableUpdateMode::replace).outcome, TableWrite::done);
  EXPECT_EQ(*tables.get_entity(name, "counters", "flag-a")->get<std::int64_t>("evaluations"), 2);

  EXPECT_EQ(tables.delete_entity(name, "counters", "flag-a", read.etag).outcome, TableWrite::precondition_failed);
  TableEntity missing{"counters", "nothing", {}, ""};
  EXPECT_EQ(tables.update_entity(name, missing).outcome, TableWrite::not_found);
  EXPECT_EQ(tables.upsert_entity(name, missing).outcome, TableWrite::done);
  EXPECT_EQ(tables.delete_entity(name, "counters", "nothing").outcome, TableWrite::done);
  EXPECT_EQ(tables.delete_entity(name, "counters", "nothing").outcome, TableWrite::not_found);
}

TEST(TableAzurite, SharedKeyLiteSignsToo) {
  TableClient tables(azurite(), {10000ms, TableAuthScheme::shared_key_lite});
  auto name = new_table();
  EXPECT_TRUE(tables.create_table(name));
  EXPECT_TRUE(tables.insert_entity(name, event("f", "1")).ok());
  EXPECT_TRUE(tables.submit_batch(name, {{TableOperation::Kind::insert, event("f", "2")}}).committed);
  EXPECT_EQ(tables.query(name, {"", 0, {}, "", ""}).entities.size(), 2u);
}

TEST(TableAzurite, ErrorsSayWhetherToRetry) {
  auto cs = azurite();
  TableClient tables(cs);
  try {
    tables.get_entity("nosuchtable" + new_table(), "p", "r");
    FAIL() << "no error for a missing table";
  } catch (const TableError& e) {
    EXPECT_EQ(e.status(), 404);
    EXPECT_EQ(e.code(), "TableNotFound");
    EXPECT_FALSE(e.retryable());
  }

  auto wrong = cs;
  wrong.key = "V3J5V3JvbmdLZXlWM0o1VjNKdmJtZExaWGxXTTBvMVZqTktkbUp0WkV4YVdHdz0=";
  try {
    TableClient(wrong).create_table(new_table());
    FAIL() << "no error for a wrong key";
  } catch (const TableError& e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_FALSE(e.code().empty());  // azurite: AuthorizationFailure; Azure: AuthenticationFailed
    EXPECT_FALSE(e.retryable());
    EXPECT_EQ(std::string(e.what()).find(wrong.key), std::string::npos);
  }

  // A port nothing listens on, and one that accepts but never answers: no reply, retryable.
  auto nowhere = cs;
  nowhere.endpoint = "http://127.0.0.1:1/devstoreaccount1";
  try {
    TableClient(nowhere).create_table(new_table());
    FAIL() << "no error without a server";
  } catch (const TableError& e) {
    EXPECT_EQ(e.status(), 0);
    EXPECT_TRUE(e.retryable());
  }
  int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(silent, 4), 0);
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  auto stuck = cs;
  stuck.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/devstoreaccount1";
  try {
    TableClient(stuck, {300ms, TableAuthScheme::shared_key}).create_table(new_table());
    FAIL() << "no error from a server that never answers";
  } catch (const TableError& e) {
    EXPECT_EQ(e.status(), 0);
    EXPECT_TRUE(e.retryable());
    EXPECT_NE(std::string(e.what()).find("imeout"), std::string::npos) << e.what();
  }
  ::close(silent);
}
