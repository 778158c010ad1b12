// analytics-service: SqlEventStore on a real SQLite file (and a PostgreSQL database), and the real
// App served in-process behind a real auth-service: events stored once by event_id, in UTC, listed
// by time; who may send and read them.
#include <array>
#include <barrier>
#include <set>
#include <thread>

#include "harness.hpp"

namespace itest {
namespace {

using toggle::Event;
using toggle::EventStore;
using toggle::analytics::SqlEventStore;

Event event(const std::string& id, const std::string& flag, bool result, const std::string& timestamp,
            const std::string& user = "user-1") {
  return Event{id, user, flag, result, timestamp};
}

// "2026-01-01T00:00:00.000Z" + n milliseconds (n < 1000).
std::string ts(int n) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-01-01T00:00:00.%03dZ", n);
  return buf;
}

json event_json(const std::string& id, const std::string& flag = "f", bool result = true, int n = 0) {
  return {{"event_id", id}, {"user_id", "user-" + id}, {"flag_name", flag}, {"result", result}, {"timestamp", ts(n)}};
}

// ---------------------------------------------------------------------------------------------
// EventStore

// On SQLite and on PostgreSQL (the same store code).
class EventStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  TempDir dir;
  TestDatabase database{GetParam(), dir, "analytics"};
  std::unique_ptr<toggle::sql::Database> db = database.open();
  SqlEventStore store{*db};
};
INSTANTIATE_TEST_SUITE_P(On, EventStoreTest, kBackends, backend_name);

TEST_P(EventStoreTest, StoringTheSameBatchTwiceStoresItOnce) {
  std::vector<Event> batch = {event("e1", "f", true, ts(1)), event("e2", "f", false, ts(2)),
                              event("e3", "g", true, ts(3))};
  EXPECT_EQ(store.store(batch), 3u);
  EXPECT_EQ(store.store(batch), 0u) << "every event_id was stored before";
  EXPECT_EQ(store.recent(std::nullopt, 100).size(), 3u);
  auto f = store.summary("f");
  EXPECT_EQ(f.true_count, 1);
  EXPECT_EQ(f.false_count, 1) << "duplicates are not counted";

  // A batch that is partly new stores only the new part.
  batch.push_back(event("e4", "f", true, ts(4)));
  EXPECT_EQ(store.store(batch), 1u);
  EXPECT_EQ(store.summary("f").true_count, 2);
  EXPECT_EQ(store.recent(std::nullopt, 100).size(), 4u);

  // A duplicate id inside one batch is stored once as well.
  EXPECT_EQ(store.store({event("e5", "f", true, ts(5)), event("e5", "f", true, ts(5))}), 1u);
  EXPECT_EQ(store.summary("f").true_count, 3);
  EXPECT_EQ(store.store({}), 0u);
}

TEST_P(EventStoreTest, SummaryCountsPerFlag) {
  std::vector<Event> batch;
  for (int i = 0; i < 7; ++i) batch.push_back(event("t" + std::to_string(i), "checkout", true, ts(i)));
  for (int i = 0; i < 3; ++i) batch.push_back(event("f" + std::to_string(i), "checkout", false, ts(i)));
  batch.push_back(event("o", "other", false, ts(0)));
  ASSERT_EQ(store.store(batch), 11u);
  auto s = store.summary("checkout");
  EXPECT_EQ(s.true_count, 7);
  EXPECT_EQ(s.false_count, 3);
  auto o = store.summary("other");
  EXPECT_EQ(o.true_count, 0);
  EXPECT_EQ(o.false_count, 1);
  auto none = store.summary("never-evaluated");
  EXPECT_EQ(none.true_count, 0);
  EXPECT_EQ(none.false_count, 0);
}

TEST_P(EventStoreTest, RecentIsNewestFirstWithLimitAndFlagFilter) {
  // Stored out of order: recent() orders by the events' timestamps.
  ASSERT_EQ(store.store({event("b", "f", true, ts(20)), event("a", "g", false, ts(10)), event("d", "f", false, ts(40)),
                         event("c", "g", true, ts(30))}),
            4u);
  auto all = store.recent(std::nullopt, 100);
  std::vector<std::string> ids;
  for (const auto& e : all) ids.push_back(e.event_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"d", "c", "b", "a"}));
  EXPECT_EQ(all[0].flag_name, "f");
  EXPECT_FALSE(all[0].result);
  EXPECT_EQ(all[0].timestamp, ts(40));
  EXPECT_EQ(all[0].user_id, "user-1");

  auto two = store.recent(std::nullopt, 2);
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].event_id, "d");
  EXPECT_EQ(two[1].event_id, "c");

  auto g = store.recent("g", 100);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].event_id, "c");
  EXPECT_TRUE(g[0].result);
  EXPECT_EQ(g[1].event_id, "a");
  EXPECT_EQ(store.recent("g", 1).size(), 1u);
  EXPECT_TRUE(store.recent("nothing", 100).empty());
}

TEST_P(EventStoreTest, VariantAndReasonAreKept) {
  Event e = event("v", "f", true, ts(1));
  e.variant = "on";
  e.reason = "TARGETING_MATCH";
  ASSERT_EQ(store.store({e, event("plain", "f", false, ts(2))}), 2u);
  auto all = store.recent(std::nullopt, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1], e);
  EXPECT_EQ(all[0].variant, "");
  EXPECT_EQ(all[0].reason, "");
}

Event served(const std::string& id, const std::string& flag, const std::string& variant, const std::string& reason,
             int n = 0) {
  Event e = event(id, flag, variant != "off", ts(n));
  e.variant = variant;
  e.reason = reason;
  return e;
}

// /summary's per-variant and per-reason counts: counted with true/false, once per event.
TEST_P(EventStoreTest, SummaryCountsPerVariantAndReasonOnce) {
  std::vector<Event> batch = {served("b1", "f", "blue", "TARGETING_MATCH"), served("b2", "f", "blue", "SPLIT"),
                              served("b3", "f", "blue", "SPLIT"),           served("r1", "f", "red", "SPLIT"),
                              served("o1", "f", "off", "DISABLED"),         served("g1", "g", "blue", "STATIC"),
                              event("plain", "f", true, ts(1)),             served("b1", "f", "blue", "TARGETING_MATCH")};
  EXPECT_EQ(store.store(batch), 7u);
  EXPECT_EQ(store.store(batch), 0u) << "redelivered";
  EXPECT_EQ(store.store({served("r2", "f", "red", "SPLIT", 9), served("r1", "f", "red", "SPLIT")}), 1u);

  EventStore::Summary f = store.summary("f");
  EXPECT_EQ(f.true_count, 6);
  EXPECT_EQ(f.false_count, 1);
  EXPECT_EQ(f.variants, (std::map<std::string, std::int64_t>{{"blue", 3}, {"red", 2}, {"off", 1}}))
      << "the event without a variant counts in true/false only";
  EXPECT_EQ(f.reasons, (std::map<std::string, std::int64_t>{{"TARGETING_MATCH", 1}, {"SPLIT", 4}, {"DISABLED", 1}}));
  EXPECT_EQ(store.summary("g").variants, (std::map<std::string, std::int64_t>{{"blue", 1}}));
  EXPECT_EQ(store.summary("never"), EventStore::Summary{});
}

TEST_P(EventStoreTest, EventsWithoutAVariantLeaveTheVariantCountsEmpty) {
  ASSERT_EQ(store.store({event("a", "plain", true, ts(1)), event("b", "plain", false, ts(2))}), 2u);
  auto s = store.summary("plain");
  EXPECT_EQ(s.true_count, 1);
  EXPECT_EQ(s.false_count, 1);
  EXPECT_TRUE(s.variants.empty());
  EXPECT_TRUE(s.reasons.empty());
}

// A database written before the per-variant counters existed (migration 2: events carry variant
// and reason): the migration counts what it holds, and counting goes on from there.
TEST_P(EventStoreTest, TheMigrationCountsTheVariantsOfEventsStoredBeforeIt) {
  db->exec("DROP TABLE flag_label_counts");
  db->exec("DELETE FROM schema_migrations WHERE component = 'analytics-service' AND version = 3");
  for (const auto& [id, variant, reason] : std::vector<std::array<std::string, 3>>{
           {"old1", "blue", "SPLIT"}, {"old2", "blue", "SPLIT"}, {"old3", "red", "STATIC"}, {"old4", "", ""}})
    db->exec(
        "INSERT INTO events (event_id, user_id, flag_name, result, timestamp, received_at, variant, reason) "
        "VALUES ($1, 'u', 'f', $2, $3, $3, NULLIF($4, ''), NULLIF($5, ''))",
        {id, true, ts(1), variant, reason});

  SqlEventStore migrated(*db);
  EXPECT_EQ(migrated.summary("f").variants, (std::map<std::string, std::int64_t>{{"blue", 2}, {"red", 1}}));
  EXPECT_EQ(migrated.summary("f").reasons, (std::map<std::string, std::int64_t>{{"SPLIT", 2}, {"STATIC", 1}}));
  ASSERT_EQ(migrated.store({served("new", "f", "red", "STATIC", 5), served("old1", "f", "blue", "SPLIT")}), 1u);
  EXPECT_EQ(migrated.summary("f").variants, (std::map<std::string, std::int64_t>{{"blue", 2}, {"red", 2}}));
}

// Replicas of analytics (or retries) storing overlapping batches at the same moment: each event is
// stored and counted once, whichever batch wins it.
TEST_P(EventStoreTest, BatchesStoredConcurrentlyStoreEachEventOnce) {
  constexpr int kWriters = 4, kEvents = 300;
  std::vector<std::vector<Event>> batches(kWriters);
  for (int w = 0; w < kWriters; ++w)
    for (int i = 0; i < kEvents; ++i) {
      int n = i + w * kEvents / 2;  // each batch overlaps the next by half
      batches[w].push_back(event("e" + std::to_string(n), n % 3 ? "f" : "g", n % 2 == 0, ts(n % 1000)));
    }
  std::set<std::string> distinct;
  for (const auto& b : batches)
    for (const auto& e : b) distinct.insert(e.event_id);

  std::barrier start(kWriters);
  std::vector<std::size_t> stored(kWriters);
  std::vector<std::string> errors(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      try {
        auto own = database.open();  // a connection (pool) of its own, as another replica
        SqlEventStore replica(*own);
        start.arrive_and_wait();
        stored[w] = replica.store(batches[w]);
      } catch (const std::exception& e) {
        errors[w] = e.what();
      }
    });
  for (auto& t : writers) t.join();
  for (int w = 0; w < kWriters; ++w) EXPECT_EQ(errors[w], "") << "writer " << w;

  std::size_t total = 0;
  for (auto n : stored) total += n;
  EXPECT_EQ(total, distinct.size()) << "each event stored by exactly one batch";
  EXPECT_EQ(store.recent(std::nullopt, 10000).size(), distinct.size());
  auto f = store.summary("f"), g = store.summary("g");
  EXPECT_EQ(static_cast<std::size_t>(f.true_count + f.false_count + g.true_count + g.false_count), distinct.size())
      << "counted once";
  std::int64_t expected_true = 0;
  for (const auto& id : distinct) expected_true += std::stoi(id.substr(1)) % 2 == 0;
  EXPECT_EQ(f.true_count + g.true_count, expected_true);
}

// ---------------------------------------------------------------------------------------------
// HTTP API

// /summary of events that named no variant (as /evaluate's): empty per-variant and per-reason counts.
const json kNoVariants = {"variants", json::object()}, kNoReasons = {"reasons", json::object()};

// On SQLite and on PostgreSQL.
class AnalyticsApiTest : public ::testing::TestWithParam<Backend> {
 protected:
  TempDir dir;
  AuthService auth{dir};
  AnalyticsService analytics{dir, auth.url(), GetParam()};
  std::string key = auth.create_key("dashboard");

  toggle::ClientResponse post_events(const json& batch, const std::string& with_key = kServiceKey) {
    return call("POST", analytics.url() + "/events", with_key, batch.dump());
  }
  toggle::ClientResponse get(const std::string& path_and_query, const std::string& with_key = "") {
    return call("GET", analytics.url() + path_and_query, with_key.empty() ? key : with_key);
  }
};
INSTANTIATE_TEST_SUITE_P(On, AnalyticsApiTest, kBackends, backend_name);

TEST_P(AnalyticsApiTest, PostedBatchIsStoredOnce) {
  json batch = json::array({event_json("e1", "f", true, 1), event_json("e2", "f", false, 2)});
  auto first = post_events(batch);
  ASSERT_EQ(first.status, 200) << describe(first);
  EXPECT_EQ(body_of(first), json({{"stored", 2}, {"duplicates", 0}}));
  auto again = post_events(batch);
  ASSERT_EQ(again.status, 200) << describe(again);
  EXPECT_EQ(body_of(again), json({{"stored", 0}, {"duplicates", 2}}));
  EXPECT_EQ(analytics.store().recent(std::nullopt, 100).size(), 2u);
  EXPECT_EQ(post_events(json::array()).status, 200) << "an empty batch is fine";
}

TEST_P(AnalyticsApiTest, TheSameEventIdTwiceInOneBatchIsStoredOnce) {
  json twice = json::array({event_json("same", "f", true, 1), event_json("same", "f", true, 1),
                            event_json("other", "f", false, 2)});
  auto res = post_events(twice);
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_EQ(body_of(res), json({{"stored", 2}, {"duplicates", 1}}));
  EXPECT_EQ(body_of(get("/summary?flag_name=f")), json({{"flag_name", "f"}, {"total", 2}, {"true", 1}, {"false", 1}, kNoVariants, kNoReasons}));
}

TEST_P(AnalyticsApiTest, BatchesPostedConcurrentlyAreCountedOnce) {
  constexpr int kSenders = 4;
  json batch = json::array();
  for (int i = 0; i < 400; ++i) batch.push_back(event_json("e" + std::to_string(i), "f", i % 4 == 0, i % 1000));
  std::barrier start(kSenders);
  std::vector<toggle::ClientResponse> replies(kSenders);
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i)
    senders.emplace_back([&, i] {
      start.arrive_and_wait();
      replies[i] = call("POST", analytics.url() + "/events", kServiceKey, batch.dump(), 20000ms);
    });
  for (auto& t : senders) t.join();
  int stored = 0;
  for (const auto& r : replies) {
    ASSERT_EQ(r.status, 200) << describe(r);
    stored += body_of(r)["stored"].get<int>();
    EXPECT_EQ(body_of(r)["stored"].get<int>() + body_of(r)["duplicates"].get<int>(), 400);
  }
  EXPECT_EQ(stored, 400) << "each event stored by exactly one of the batches";
  EXPECT_EQ(body_of(get("/summary?flag_name=f")),
            json({{"flag_name", "f"}, {"total", 400}, {"true", 100}, {"false", 300}, kNoVariants, kNoReasons}));
}

// 401: no key, or not a valid one; 403: a valid key without the `events` scope. The service key
// has it; other keys may be given it.
TEST_P(AnalyticsApiTest, PostingNeedsAValidKeyWithTheEventsScope) {
  json batch = json::array({event_json("e1")});
  auto none = call("POST", analytics.url() + "/events", "", batch.dump());
  EXPECT_EQ(none.status, 401) << describe(none);
  EXPECT_EQ(code_of(none), "missing_key");
  auto invalid = post_events(batch, "tm_key_wrong");
  EXPECT_EQ(invalid.status, 401) << describe(invalid);
  EXPECT_EQ(code_of(invalid), "invalid_key");
  EXPECT_EQ(post_events(batch, kMasterKey).status, 401) << "the master key is not an API key";
  auto unscoped = post_events(batch, key);
  EXPECT_EQ(unscoped.status, 403) << "a valid key without the events scope: " << describe(unscoped);
  EXPECT_EQ(code_of(unscoped), "missing_scope");
  EXPECT_NE(error_of(unscoped).find("events"), std::string::npos) << unscoped.body;
  EXPECT_TRUE(analytics.store().recent(std::nullopt, 100).empty());

  auto bare = call_with_headers("POST", analytics.url() + "/events", {{"Authorization", kServiceKey}}, batch.dump());
  EXPECT_EQ(bare.status, 200) << describe(bare);
  std::string sender = auth.create_key("another-sender", {"events"});
  auto scoped = post_events(json::array({event_json("e2")}), sender);
  EXPECT_EQ(scoped.status, 200) << describe(scoped);
  EXPECT_EQ(get("/events", sender).status, 403) << "events does not imply read";
  EXPECT_EQ(analytics.store().recent(std::nullopt, 100).size(), 2u);
}

// While auth-service answers, its word is final: a revoked service key is refused like any other
// (the local check of the service key is only for when auth-service cannot be reached).
TEST_P(AnalyticsApiTest, ARevokedServiceKeyIsRefusedWhileAuthServiceIsUp) {
  ASSERT_EQ(post_events(json::array({event_json("before")})).status, 200);
  auth.revoke_key("service");
  // Refused once the validator's cache of the key (a few seconds) has expired.
  int attempt = 0;
  ASSERT_TRUE(eventually([&] {
    return post_events(json::array({event_json("during-" + std::to_string(attempt++))})).status == 401;
  }));
  std::size_t stored = analytics.store().recent(std::nullopt, 100).size();
  auto refused = post_events(json::array({event_json("after")}));
  EXPECT_EQ(refused.status, 401) << describe(refused);
  EXPECT_EQ(code_of(refused), "invalid_key");
  EXPECT_EQ(analytics.store().recent(std::nullopt, 100).size(), stored) << "nothing stored once refused";
}

TEST_P(AnalyticsApiTest, IngestionDoesNotNeedAuthService) {
  auth.stop();
  auto res = post_events(json::array({event_json("e1")}));
  EXPECT_EQ(res.status, 200) << "the service key is checked locally when auth-service is down: " << describe(res);
  auto query = get("/summary?flag_name=f", "tm_key_not_cached");
  EXPECT_EQ(query.status, 503) << "other keys do need it";
  EXPECT_EQ(code_of(query), "auth_unavailable");
  EXPECT_EQ(post_events(json::array({event_json("e2")}), "tm_key_not_cached").status, 503);
}

TEST_P(AnalyticsApiTest, BodyMustBeAJsonArray) {
  for (std::string body : {"{}", R"({"events":[]})", "[", "not json", "\"x\"", ""}) {
    SCOPED_TRACE(body);
    auto res = call("POST", analytics.url() + "/events", kServiceKey, body);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_json");
  }
}

TEST_P(AnalyticsApiTest, EachEventIsValidatedAndNamedInTheError) {
  struct Case {
    json bad_event;
    std::string field;
  };
  json good = event_json("ok");
  auto without = [&](const char* field) {
    json e = event_json("x");
    e.erase(field);
    return e;
  };
  auto with = [&](const char* field, json value) {
    json e = event_json("x");
    e[field] = std::move(value);
    return e;
  };
  const std::vector<Case> cases = {
      {without("event_id"), "events[1].event_id"},
      {with("event_id", ""), "events[1].event_id"},
      {with("event_id", std::string(65, 'e')), "events[1].event_id"},
      {with("event_id", 7), "events[1].event_id"},
      {without("user_id"), "events[1].user_id"},
      {with("user_id", std::string(257, 'u')), "events[1].user_id"},
      {without("flag_name"), "events[1].flag_name"},
      {with("flag_name", "a/b"), "events[1].flag_name"},
      {with("flag_name", std::string(101, 'f')), "events[1].flag_name"},
      {without("result"), "events[1].result"},
      {with("result", "true"), "events[1].result"},
      {with("result", nullptr), "events[1].result"},
      {without("timestamp"), "events[1].timestamp"},
      {with("timestamp", 1700000000), "events[1].timestamp"},
      {with("timestamp", "yesterday"), "events[1].timestamp"},
      {with("timestamp", "2026-11-30"), "events[1].timestamp"},
      {with("timestamp", "2026-11-30T13:00:00"), "events[1].timestamp"},
      {with("timestamp", "2026-02-30T13:00:00Z"), "events[1].timestamp"},
      {with("timestamp", "2026-11-30T24:00:00Z"), "events[1].timestamp"},
      {with("timestamp", "2026-11-30 13:00:00+00"), "events[1].timestamp"},
      {json("event"), "events[1]"},
      {json::array(), "events[1]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.bad_event.dump());
    auto res = post_events(json::array({good, c.bad_event}));
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_event");
    EXPECT_NE(error_of(res).find(c.field), std::string::npos) << res.body;
  }
  EXPECT_TRUE(analytics.store().recent(std::nullopt, 100).empty()) << "a refused batch stores nothing";
}

TEST_P(AnalyticsApiTest, BatchOfMoreThan10000EventsIs413) {
  json batch = json::array();
  for (int i = 0; i < 10001; ++i) batch.push_back(event_json("e" + std::to_string(i), "f", i % 2 == 0, i % 1000));
  auto res = call("POST", analytics.url() + "/events", kServiceKey, batch.dump(), 20000ms);
  EXPECT_EQ(res.status, 413) << describe(res);
  EXPECT_EQ(code_of(res), "too_many_events");
  EXPECT_TRUE(analytics.store().recent(std::nullopt, 10).empty());

  batch.erase(batch.size() - 1);
  auto most = call("POST", analytics.url() + "/events", kServiceKey, batch.dump(), 20000ms);
  ASSERT_EQ(most.status, 200) << describe(most);
  EXPECT_EQ(body_of(most)["stored"], 10000);
  auto s = analytics.store().summary("f");
  EXPECT_EQ(s.true_count + s.false_count, 10000);
}

TEST_P(AnalyticsApiTest, QueriesNeedAValidKey) {
  for (std::string path : {"/events", "/summary?flag_name=f"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(call("GET", analytics.url() + path).status, 401);
    EXPECT_EQ(call("GET", analytics.url() + path, "tm_key_invalid").status, 401);
    EXPECT_EQ(call("GET", analytics.url() + path, kMasterKey).status, 401);
    EXPECT_EQ(get(path).status, 200);
    EXPECT_EQ(get(path, kServiceKey).status, 200) << "the service key is an API key too";
  }
}

TEST_P(AnalyticsApiTest, EventsListIsNewestFirstWithLimits) {
  json batch = json::array();
  for (int i = 0; i < 150; ++i) batch.push_back(event_json("e" + std::to_string(i), i < 100 ? "f" : "g", true, i));
  ASSERT_EQ(post_events(batch).status, 200);

  auto def = get("/events");
  ASSERT_EQ(def.status, 200) << describe(def);
  json list = body_of(def);
  ASSERT_EQ(list.size(), 100u) << "default limit";
  EXPECT_EQ(list[0]["event_id"], "e149");
  EXPECT_EQ(list[99]["event_id"], "e50");
  EXPECT_EQ(list[0], event_json("e149", "g", true, 149));

  EXPECT_EQ(body_of(get("/events?limit=10000")).size(), 150u);
  json five = body_of(get("/events?limit=5&flag_name=f"));
  ASSERT_EQ(five.size(), 5u);
  EXPECT_EQ(five[0]["event_id"], "e99");
  for (const auto& e : five) EXPECT_EQ(e["flag_name"], "f");
  EXPECT_EQ(body_of(get("/events?flag_name=g")).size(), 50u);
  EXPECT_EQ(body_of(get("/events?flag_name=none")).size(), 0u);

  for (std::string limit : {"0", "10001", "-1", "abc", "", "1.5", "99999999999"}) {
    SCOPED_TRACE(limit);
    auto res = get("/events?limit=" + limit);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_parameter");
  }
  EXPECT_EQ(get("/events?flag_name=a%2Fb").status, 400);
}

TEST_P(AnalyticsApiTest, SummaryCountsAndNeedsAFlagName) {
  json batch = json::array();
  for (int i = 0; i < 5; ++i) batch.push_back(event_json("t" + std::to_string(i), "checkout", true, i));
  for (int i = 0; i < 2; ++i) batch.push_back(event_json("f" + std::to_string(i), "checkout", false, i));
  ASSERT_EQ(post_events(batch).status, 200);
  ASSERT_EQ(post_events(batch).status, 200);  // delivered twice, counted once

  auto res = get("/summary?flag_name=checkout");
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_EQ(body_of(res), json({{"flag_name", "checkout"}, {"total", 7}, {"true", 5}, {"false", 2}, kNoVariants, kNoReasons}));
  EXPECT_EQ(body_of(get("/summary?flag_name=unknown")),
            json({{"flag_name", "unknown"}, {"total", 0}, {"true", 0}, {"false", 0}, kNoVariants, kNoReasons}));

  EXPECT_EQ(get("/summary").status, 400);
  EXPECT_EQ(code_of(get("/summary")), "missing_parameter");
  EXPECT_NE(error_of(get("/summary")).find("flag_name"), std::string::npos);
  EXPECT_EQ(get("/summary?flag_name=").status, 400);
  EXPECT_EQ(get("/summary?flag_name=a%20b").status, 400);
}

TEST_P(AnalyticsApiTest, SummaryCountsPerVariantAndReason) {
  auto with = [](json e, const char* variant, const char* reason) {
    e["variant"] = variant;
    e["reason"] = reason;
    return e;
  };
  json batch = json::array({with(event_json("a", "color", true, 1), "blue", "SPLIT"),
                            with(event_json("b", "color", true, 2), "blue", "TARGETING_MATCH"),
                            with(event_json("c", "color", false, 3), "grey", "DISABLED"),
                            event_json("d", "color", true, 4)});
  ASSERT_EQ(post_events(batch).status, 200);
  ASSERT_EQ(post_events(batch).status, 200);  // delivered twice, counted once
  EXPECT_EQ(body_of(get("/summary?flag_name=color")),
            json({{"flag_name", "color"},
                  {"total", 4},
                  {"true", 3},
                  {"false", 1},
                  {"variants", {{"blue", 2}, {"grey", 1}}},
                  {"reasons", {{"SPLIT", 1}, {"TARGETING_MATCH", 1}, {"DISABLED", 1}}}}));
}

// Timestamps are RFC 3339 with any offset, stored in UTC with milliseconds, and listed by time
// (not by their text as sent).
TEST_P(AnalyticsApiTest, TimestampsAreStoredInUtcAndListedByTime) {
  auto at = [](const char* id, const char* timestamp) {
    return json{{"event_id", id}, {"user_id", "u"}, {"flag_name", "f"}, {"result", true}, {"timestamp", timestamp}};
  };
  json batch = json::array({
      at("plus-five", "2026-11-30T14:00:00+05:00"),        // 09:00Z
      at("thirteen", "2026-11-30T13:00:00.000Z"),
      at("minus-two", "2026-11-30T10:30:00.5-02:00"),      // 12:30:00.500Z
      at("lowercase", "2026-11-30t11:00:00.123456z"),     // microseconds: cut to milliseconds
  });
  auto res = post_events(batch);
  ASSERT_EQ(res.status, 200) << describe(res);
  json list = body_of(get("/events?flag_name=f"));
  std::vector<std::string> ids, times;
  for (const auto& e : list) {
    ids.push_back(e["event_id"].get<std::string>());
    times.push_back(e["timestamp"].get<std::string>());
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"thirteen", "minus-two", "lowercase", "plus-five"}));
  EXPECT_EQ(times, (std::vector<std::string>{"2026-11-30T13:00:00.000Z", "2026-11-30T12:30:00.500Z",
                                             "2026-11-30T11:00:00.123Z", "2026-11-30T09:00:00.000Z"}));
}

}  // namespace
}  // namespace itest
