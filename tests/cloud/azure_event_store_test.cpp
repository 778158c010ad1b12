// CosmosEventStore against azurite (the run's shared server, ctest fixture `azurite`): exactly
// once by event_id across repeated batches, duplicates inside a batch and concurrent writers;
// counters; newest first per flag and overall; more than one transaction's worth of one flag;
// failures as Error{unavailable}. Each test uses tables of its own. Also prints the store's
// throughput on azurite (information only: nothing asserts a rate).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdio>
#include <random>
#include <set>
#include <thread>

#include "azure_servers.hpp"
#include "toggle/cloud/cosmos_event_store.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/error.hpp"

using namespace toggle;
using namespace toggle::cloud;
using namespace std::chrono_literals;

namespace {

TableConnectionString azurite() {
  return parse_table_connection_string(testsupport::shared_server("azurite.sh", "TOGGLE_TEST_AZURITE_STATE"));
}

std::string new_table() {
  std::random_device random;
  return "ev" + std::to_string(random()) + std::to_string(random() % 1000);
}

// A store on tables of its own, created for the test.
struct Fixture {
  std::string table = new_table();
  std::vector<CosmosTableCreated> created = create_cosmos_event_tables(azurite(), table);
  CosmosEventStore store{azurite(), table};
};

// "2026-11-30T13:mm:ss.mmmZ" plus `millis` from 13:00.
std::string at(std::int64_t millis, int hour = 13, int day = 30) {
  char text[64];
  std::snprintf(text, sizeof text, "2026-11-%02dT%02d:%02lld:%02lld.%03lldZ", day, hour,
                static_cast<long long>(millis / 60000), static_cast<long long>(millis / 1000 % 60),
                static_cast<long long>(millis % 1000));
  return text;
}

Event make(std::string id, std::string flag, bool result, std::string timestamp) {
  return {std::move(id),
          "user-" + std::to_string(std::hash<std::string>{}(id) % 100),
          std::move(flag),
          result,
          std::move(timestamp),
          "",
          ""};
}

// `n` events of `flag`, one per millisecond from `from`, results alternating (true first).
std::vector<Event> series(const std::string& prefix, const std::string& flag, int n, std::int64_t from = 0) {
  std::vector<Event> out;
  for (int i = 0; i < n; ++i) {
    char id[64];
    std::snprintf(id, sizeof id, "%s-%05d", prefix.c_str(), i);
    out.push_back(make(id, flag, i % 2 == 0, at(from + i)));
  }
  return out;
}

// Newest first as the EventStore promises: timestamp, then event_id, descending.
std::vector<Event> newest_first(std::vector<Event> events, std::size_t limit) {
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.timestamp != b.timestamp ? a.timestamp > b.timestamp : a.event_id > b.event_id;
  });
  if (events.size() > limit) events.resize(limit);
  return events;
}

std::vector<Event> of_flag(const std::vector<Event>& events, const std::string& flag) {
  std::vector<Event> out;
  for (const auto& e : events) {
    if (e.flag_name == flag) out.push_back(e);
  }
  return out;
}

}  // namespace

// Each event of `events` serves variant i % 3 (a, b, c), for reason SPLIT, or TARGETING_MATCH for c.
std::vector<Event> with_variants(std::vector<Event> events) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    events[i].variant = std::string(1, static_cast<char>('a' + i % 3));
    events[i].reason = i % 3 == 2 ? "TARGETING_MATCH" : "SPLIT";
  }
  return events;
}

using Counts = std::map<std::string, std::int64_t>;

TEST(CosmosEventStore, CreatesItsTablesIdempotently) {
  Fixture f;
  ASSERT_EQ(f.created.size(), 2u);
  EXPECT_EQ(f.created[0].table, f.table);
  EXPECT_EQ(f.created[1].table, f.table + "ByTime");
  EXPECT_TRUE(f.created[0].created && f.created[1].created);
  auto again = create_cosmos_event_tables(azurite(), f.table);
  EXPECT_FALSE(again[0].created || again[1].created);
  EXPECT_EQ(f.store.readiness(), "");
  EXPECT_THROW(create_cosmos_event_tables(azurite(), "no-dashes"), std::invalid_argument);
  EXPECT_THROW(CosmosEventStore(azurite(), std::string(58, 'a')), std::invalid_argument);
}

TEST(CosmosEventStore, TheSameBatchTwiceIsStoredAndCountedOnce) {
  Fixture f;
  auto batch = series("a", "flag-a", 7);
  for (auto& e : series("b", "flag-b", 4)) batch.push_back(e);
  batch[0].variant = "blue";
  batch[0].reason = "SPLIT";
  EXPECT_EQ(f.store.store(batch), 11u);
  EXPECT_EQ(f.store.store(batch), 0u);
  EXPECT_EQ(f.store.stats().duplicates, 11u);
  auto a = f.store.summary("flag-a");
  EXPECT_EQ(a.true_count, 4);
  EXPECT_EQ(a.false_count, 3);
  EXPECT_EQ(a.variants, (Counts{{"blue", 1}}));
  EXPECT_EQ(a.reasons, (Counts{{"SPLIT", 1}}));
  auto b = f.store.summary("flag-b");
  EXPECT_EQ(b.true_count, 2);
  EXPECT_EQ(b.false_count, 2);
  EXPECT_TRUE(b.variants.empty()) << "no event of flag-b named a variant";
  EXPECT_TRUE(b.reasons.empty());
  EXPECT_EQ(f.store.recent("flag-a", 100), newest_first(of_flag(batch, "flag-a"), 100));
  EXPECT_EQ(f.store.recent(std::nullopt, 100), newest_first(batch, 100));

  // Each event is one entity of the table, under its own field names, plus one counter per flag.
  TableClient tables(azurite());
  auto page = tables.query(f.table, {"", 0, {}, "", ""});
  std::size_t events = 0, counters = 0;
  for (const auto& entity : page.entities) {
    if (entity.get<std::string>("event_id")) {
      ++events;
      EXPECT_EQ(*entity.get<std::string>("flag_name"), entity.partition_key);
      EXPECT_TRUE(entity.get<std::string>("user_id") && entity.get<bool>("result") &&
                  entity.get<std::string>("timestamp"));
    } else {
      ++counters;
      EXPECT_EQ(entity.row_key, "counts");
    }
  }
  EXPECT_EQ(events, 11u);
  EXPECT_EQ(counters, 2u);
}

TEST(CosmosEventStore, DuplicatesInsideABatchAndAlreadyStoredOnesAreSkipped) {
  Fixture f;
  auto first = series("d", "flag-a", 5);
  EXPECT_EQ(f.store.store({first[0], first[1], first[0], first[2], first[1]}), 3u);
  // Two stored before, two new, one of them twice, spread through the batch.
  EXPECT_EQ(f.store.store({first[3], first[0], first[4], first[2], first[3]}), 2u);
  auto s = f.store.summary("flag-a");
  EXPECT_EQ(s.true_count, 3);
  EXPECT_EQ(s.false_count, 2);
  EXPECT_EQ(f.store.recent("flag-a", 10), newest_first(first, 10));
  EXPECT_EQ(f.store.recent(std::nullopt, 10), newest_first(first, 10));
}

TEST(CosmosEventStore, MoreThanOneTransactionOfOneFlag) {
  Fixture f;
  auto events = with_variants(series("m", "busy-flag", 250));
  auto half = std::vector<Event>(events.begin() + 100, events.begin() + 160);
  EXPECT_EQ(f.store.store(half), 60u);  // some of the next call's are stored already
  EXPECT_EQ(f.store.store(events), 190u);
  EXPECT_EQ(f.store.store(events), 0u);
  auto s = f.store.summary("busy-flag");
  EXPECT_EQ(s.true_count, 125);
  EXPECT_EQ(s.false_count, 125);
  EXPECT_EQ(s.variants, (Counts{{"a", 84}, {"b", 83}, {"c", 83}}));
  EXPECT_EQ(s.reasons, (Counts{{"SPLIT", 167}, {"TARGETING_MATCH", 83}}));
  EXPECT_EQ(f.store.recent("busy-flag", 1000), newest_first(events, 1000));
  EXPECT_EQ(f.store.recent(std::nullopt, 1000), newest_first(events, 1000));
  EXPECT_EQ(f.store.recent("busy-flag", 7), newest_first(events, 7));
}

TEST(CosmosEventStore, ConcurrentWritersNeverCountTwice) {
  // Two consumers (stores of their own, as two analytics replicas) store overlapping batches of
  // the same flags at the same time: each event is stored and counted once.
  Fixture f;
  CosmosEventStore other(azurite(), f.table);
  auto events = with_variants(series("c", "hot-flag", 300));
  for (auto& e : series("k", "cool-flag", 60)) events.push_back(e);
  std::mt19937 random(42);
  auto a = events, b = events;
  std::shuffle(a.begin(), a.end(), random);
  std::shuffle(b.begin(), b.end(), random);
  std::size_t stored_a = 0, stored_b = 0;
  auto run = [](CosmosEventStore& store, const std::vector<Event>& all, std::size_t& stored) {
    for (std::size_t from = 0; from < all.size(); from += 40) {
      std::vector<Event> batch(all.begin() + from, all.begin() + std::min(all.size(), from + 40));
      stored += store.store(batch);
    }
  };
  std::thread ta(run, std::ref(f.store), std::cref(a), std::ref(stored_a));
  std::thread tb(run, std::ref(other), std::cref(b), std::ref(stored_b));
  ta.join();
  tb.join();
  EXPECT_EQ(stored_a + stored_b, 360u);
  // Each event was stored by one and found stored by the other.
  EXPECT_EQ(f.store.stats().duplicates + other.stats().duplicates, 360u);
  std::printf("two writers: %llu + %llu transactions, %llu + %llu counter conflicts resolved\n",
              static_cast<unsigned long long>(f.store.stats().transactions),
              static_cast<unsigned long long>(other.stats().transactions),
              static_cast<unsigned long long>(f.store.stats().counter_conflicts),
              static_cast<unsigned long long>(other.stats().counter_conflicts));
  auto hot = f.store.summary("hot-flag");
  EXPECT_EQ(hot.true_count, 150);
  EXPECT_EQ(hot.false_count, 150);
  EXPECT_EQ(hot.variants, (Counts{{"a", 100}, {"b", 100}, {"c", 100}})) << "counted once, whoever wrote them";
  EXPECT_EQ(hot.reasons, (Counts{{"SPLIT", 200}, {"TARGETING_MATCH", 100}}));
  auto cool = other.summary("cool-flag");
  EXPECT_EQ(cool.true_count + cool.false_count, 60);
  EXPECT_EQ(f.store.recent("hot-flag", 1000).size(), 300u);
  EXPECT_EQ(f.store.recent(std::nullopt, 1000), newest_first(events, 1000));
}

TEST(CosmosEventStore, RecentIsNewestFirstPerFlagAndOverallAcrossHours) {
  Fixture f;
  std::vector<Event> events;
  // Three hours on two days, several flags, and ties within one millisecond.
  for (auto [hour, day] : {std::pair{13, 30}, std::pair{9, 30}, std::pair{23, 29}}) {
    for (int i = 0; i < 12; ++i) {
      std::string flag = "flag-" + std::to_string(i % 3);
      events.push_back(make(crypto::uuid_v7(), flag, i % 2 == 0, at(1000 * i, hour, day)));
    }
    for (const char* id : {"tie-a", "tie-b", "tie-c", "tie-ab"}) {
      events.push_back(make(std::string(id) + "-" + std::to_string(hour), "flag-0", true, at(500, hour, day)));
    }
  }
  std::vector<Event> shuffled = events;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(1));
  EXPECT_EQ(f.store.store(shuffled), events.size());

  for (std::size_t limit :
       {std::size_t{1}, std::size_t{5}, std::size_t{16}, std::size_t{17}, std::size_t{40}, std::size_t{1000}}) {
    EXPECT_EQ(f.store.recent(std::nullopt, limit), newest_first(events, limit)) << "limit " << limit;
    for (const char* flag : {"flag-0", "flag-1", "flag-2"}) {
      EXPECT_EQ(f.store.recent(flag, limit), newest_first(of_flag(events, flag), limit)) << flag << " limit " << limit;
    }
  }
  EXPECT_TRUE(f.store.recent(std::nullopt, 0).empty());
  EXPECT_TRUE(f.store.recent("no-such-flag", 10).empty());
  EXPECT_TRUE(f.store.recent("not/a key", 10).empty());
  auto none = f.store.summary("no-such-flag");
  EXPECT_EQ(none.true_count + none.false_count, 0);
}

TEST(CosmosEventStore, AFailureAfterTheCommitIsRepairedByTheRedelivery) {
  // The time index's table is missing: the events and their counts are committed, then the
  // copies fail and store() throws. The redelivered batch counts nothing again and writes the
  // copies.
  Fixture f;
  TableClient tables(azurite());
  ASSERT_TRUE(tables.delete_table(f.store.time_table()));
  auto events = series("r", "flag-r", 5);
  try {
    f.store.store(events);
    FAIL() << "stored without the time index";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable);
    EXPECT_NE(std::string(e.what()).find("init-cloud.sh"), std::string::npos) << e.what();
  }
  EXPECT_NE(f.store.readiness(), "");
  EXPECT_EQ(f.store.summary("flag-r").true_count, 3);
  // Azurite may still be dropping the table for a moment after the delete.
  for (int i = 0; i < 100; ++i) {
    try {
      create_cosmos_event_tables(azurite(), f.table);
      break;
    } catch (const TableError&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  EXPECT_EQ(f.store.store(events), 0u);
  auto s = f.store.summary("flag-r");
  EXPECT_EQ(s.true_count, 3);
  EXPECT_EQ(s.false_count, 2);
  EXPECT_EQ(f.store.recent(std::nullopt, 10), newest_first(events, 10));
  EXPECT_EQ(f.store.readiness(), "");
}

TEST(CosmosEventStore, BadEventsAreInvalidAndNothingIsWritten) {
  Fixture f;
  auto good = series("g", "flag-a", 2);
  for (Event bad : {make("x", "flag-a", true, "yesterday"), make("", "flag-a", true, at(0)), make("y", "", true, at(0)),
                    make("z", "a/b", true, at(0))}) {
    try {
      f.store.store({good[0], bad, good[1]});
      ADD_FAILURE() << "stored " << bad.event_id;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid) << e.what();
    }
  }
  EXPECT_TRUE(f.store.recent("flag-a", 10).empty());
  EXPECT_EQ(f.store.store({}), 0u);
}

TEST(CosmosEventStore, UnreachableOrMissingIsUnavailable) {
  auto nowhere = azurite();
  nowhere.endpoint = "http://127.0.0.1:1/devstoreaccount1";
  CosmosEventStore store(nowhere, "EvaluationEvents");
  auto expect_unavailable = [](auto&& call, const char* what) {
    try {
      call();
      ADD_FAILURE() << what << " succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::unavailable) << what << ": " << e.what();
    }
  };
  expect_unavailable([&] { store.store(series("u", "flag-a", 1)); }, "store");
  expect_unavailable([&] { store.recent(std::nullopt, 1); }, "recent");
  expect_unavailable([&] { store.recent("flag-a", 1); }, "recent of a flag");
  expect_unavailable([&] { store.summary("flag-a"); }, "summary");
  EXPECT_NE(store.readiness().find("127.0.0.1:1"), std::string::npos) << store.readiness();

  CosmosEventStore missing(azurite(), new_table());
  EXPECT_NE(missing.readiness().find("does not exist"), std::string::npos) << missing.readiness();
  expect_unavailable([&] { missing.store(series("u", "flag-a", 1)); }, "store without tables");

  auto wrong = azurite();
  wrong.key = "V3J5V3JvbmdLZXlWM0o1VjNKdmJtZExaWGxXTTBvMVZqTktkbUp0WkV4YVdHdz0=";
  CosmosEventStore unauthorized(wrong, "EvaluationEvents");
  EXPECT_NE(unauthorized.readiness().find("403"), std::string::npos) << unauthorized.readiness();
  EXPECT_EQ(unauthorized.readiness().find(wrong.key), std::string::npos);
}

TEST(CosmosEventStore, ThroughputOnAzurite) {
  // Information only (the machine is shared; nothing is asserted about speed): events/s of
  // store() in batches of 500 over 20 flags, as analytics' consumer would call it.
  Fixture f;
  std::vector<Event> events;
  for (int i = 0; i < 6000; ++i) {
    events.push_back(make(crypto::uuid_v7(), "flag-" + std::to_string(i % 20), i % 3 == 0, at(i)));
  }
  auto start = std::chrono::steady_clock::now();
  std::size_t stored = 0;
  for (std::size_t from = 0; from < events.size(); from += 500) {
    stored += f.store.store(std::vector<Event>(events.begin() + from, events.begin() + from + 500));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(stored, events.size());
  auto redelivered_start = std::chrono::steady_clock::now();
  EXPECT_EQ(f.store.store(std::vector<Event>(events.begin(), events.begin() + 500)), 0u);
  double redelivered = std::chrono::duration<double>(std::chrono::steady_clock::now() - redelivered_start).count();
  std::printf(
      "[ THROUGHPUT ] CosmosEventStore on azurite: %zu events in %.2f s = %.0f events/s (batches of 500, "
      "20 flags); a redelivered batch of 500: %.3f s\n",
      stored, seconds, stored / seconds, redelivered);
  RecordProperty("events_per_second", static_cast<int>(stored / seconds));
}
