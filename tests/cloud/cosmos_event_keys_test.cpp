// CosmosEventStore's keys and entities (pure code), and the Azure settings read from the
// environment.
#include "cosmos_event_keys.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <map>
#include <random>

#include "toggle/cloud/azure_settings.hpp"
#include "toggle/core/config.hpp"
#include "toggle/core/error.hpp"

using namespace toggle;
using namespace toggle::cloud;
namespace keys = toggle::cloud::event_keys;

namespace {

Event event(std::string id, std::string timestamp, std::string flag = "flag-a") {
  return {std::move(id), "user-1", std::move(flag), true, std::move(timestamp), "", ""};
}

}  // namespace

TEST(CosmosEventKeys, MillisOfTheContractsTimestamps) {
  EXPECT_EQ(keys::millis_of(event("a", "1970-01-01T00:00:00.000Z")), 0);
  EXPECT_EQ(keys::millis_of(event("a", "2026-11-30T13:00:00.123Z")), 1796043600123);
  EXPECT_EQ(keys::millis_of(event("a", "1969-12-31T23:59:59.999Z")), -1);
  EXPECT_EQ(keys::millis_of(event("a", "9999-12-31T23:59:59.999Z")), keys::kNewestMillis);
  EXPECT_EQ(keys::millis_of(event("a", "0000-01-01T00:00:00Z")), keys::kOldestMillis);
  for (const char* bad : {"", "yesterday", "2026-02-30T00:00:00Z", "9999-12-31T23:00:00-05:00"}) {
    try {
      keys::millis_of(event("a", bad));
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid) << bad;
      EXPECT_NE(std::string(e.what()).find("timestamp"), std::string::npos) << e.what();
    }
  }
}

TEST(CosmosEventKeys, RowKeysSortNewestFirstThenEventIdDescending) {
  // (millis, id) pairs; the expected order is timestamp descending, then event_id descending
  // bytewise -- what SQL's ORDER BY timestamp DESC, event_id DESC gives.
  std::vector<std::pair<std::int64_t, std::string>> events = {{keys::kOldestMillis, "x"},
                                                              {-1, "x"},
                                                              {0, "a"},
                                                              {0, "ab"},
                                                              {0, "b"},
                                                              {0, "B"},
                                                              {0, "a\xff"},
                                                              {0, "\x01"},
                                                              {1796043600123, "0190c4f0-0000-7000-8000-000000000001"},
                                                              {1796043600123, "0190c4f0-0000-7000-8000-000000000002"},
                                                              {keys::kNewestMillis, "z"}};
  std::mt19937 random(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(events.begin(), events.end(), random);
    auto by_key = events, expected = events;
    std::sort(by_key.begin(), by_key.end(), [](const auto& a, const auto& b) {
      return keys::row_key(a.first, a.second) < keys::row_key(b.first, b.second);
    });
    std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first > b.first : a.second > b.second;
    });
    ASSERT_EQ(by_key, expected);
  }
  std::string key = keys::row_key(0, "a");
  EXPECT_EQ(key, "253402300799999_9e~");  // 255 - 'a' (0x61) = 0x9e
  EXPECT_TRUE(table_key_problem(keys::row_key(0, "odd/id#with?chars\\")).empty());
  // Events of (lo, hi] are the RowKeys in [row_prefix(hi), row_prefix(lo)), and no range the
  // reader asks for reaches the counter.
  EXPECT_GE(keys::row_key(5, "id"), keys::row_prefix(5));
  EXPECT_LT(keys::row_key(5, "id"), keys::row_prefix(4));
  EXPECT_LT(keys::row_key(keys::kOldestMillis, std::string(64, '\xff')), keys::row_prefix(keys::kOldestMillis - 1));
  EXPECT_LT(keys::row_prefix(keys::kOldestMillis - 1), std::string(keys::kCounterRow));
  EXPECT_EQ(keys::row_prefix(keys::kNewestMillis), "000000000000000");
}

TEST(CosmosEventKeys, HoursAndTheirKeys) {
  EXPECT_EQ(keys::hour_of(0), 0);
  EXPECT_EQ(keys::hour_of(-1), -1);
  EXPECT_EQ(keys::hour_text(keys::hour_of(1796043600123)), "2026-11-30T13");
  EXPECT_EQ(keys::hour_text(keys::hour_of(-1)), "1969-12-31T23");
  EXPECT_EQ(keys::hour_text(keys::hour_of(keys::kOldestMillis)), "0000-01-01T00");
  EXPECT_EQ(keys::hour_text(keys::hour_of(keys::kNewestMillis)), "9999-12-31T23");
  for (std::int64_t millis : {keys::kOldestMillis, std::int64_t{-1}, std::int64_t{0}, keys::kNewestMillis}) {
    std::int64_t hour = keys::hour_of(millis);
    EXPECT_EQ(keys::hour_row_key(hour).size(), 8u);
    EXPECT_EQ(keys::hour_from_row_key(keys::hour_row_key(hour)), hour);
  }
  EXPECT_LT(keys::hour_row_key(10), keys::hour_row_key(9));  // newer first
  EXPECT_FALSE(keys::hour_from_row_key("counts"));
  EXPECT_EQ(keys::time_partition(keys::hour_of(1796043600123), 2), "2026-11-30T13-2");
  for (std::int64_t millis : {keys::kOldestMillis, std::int64_t{-1}, std::int64_t{0}, keys::kNewestMillis}) {
    std::int64_t day = keys::day_of(millis);
    EXPECT_EQ(keys::day_row_key(day).size(), 7u);
    EXPECT_EQ(keys::day_from_row_key(keys::day_row_key(day)), day);
  }
  EXPECT_EQ(keys::day_text(keys::day_of(1796043600123)), "2026-11-30");
  EXPECT_EQ(keys::day_text(keys::day_of(-1)), "1969-12-31");
  EXPECT_EQ(keys::hours_partition(keys::day_of(1796043600123)), "hours-2026-11-30");
  EXPECT_LT(keys::day_row_key(10), keys::day_row_key(9));
  EXPECT_FALSE(keys::day_from_row_key(keys::hour_row_key(0)));
}

TEST(CosmosEventKeys, ShardsAreStableAndSpread) {
  EXPECT_EQ(keys::shard_of("0190c4f0-0000-7000-8000-000000000001"),
            keys::shard_of("0190c4f0-0000-7000-8000-000000000001"));
  std::vector<int> seen(keys::kByTimeShards, 0);
  for (int i = 0; i < 1000; ++i) seen[keys::shard_of("event-" + std::to_string(i))]++;
  for (int count : seen) EXPECT_GT(count, 150);
}

TEST(CosmosEventKeys, EntitiesCarryTheEventsFieldsUnderTheirOwnNames) {
  Event e{"id-1", "user-1", "flag-a", false, "2026-11-30T13:00:00.000Z", "", ""};
  TableEntity entity = keys::event_entity("flag-a", "rk", e);
  EXPECT_EQ(entity.properties.size(), 5u);
  EXPECT_EQ(*entity.get<std::string>("event_id"), "id-1");
  EXPECT_EQ(*entity.get<std::string>("user_id"), "user-1");
  EXPECT_EQ(*entity.get<std::string>("flag_name"), "flag-a");
  EXPECT_EQ(*entity.get<bool>("result"), false);
  EXPECT_EQ(*entity.get<std::string>("timestamp"), "2026-11-30T13:00:00.000Z");
  EXPECT_EQ(keys::event_from_entity(entity), e);

  e.variant = "blue";
  e.reason = "SPLIT";
  entity = keys::event_entity("flag-a", "rk", e);
  EXPECT_EQ(*entity.get<std::string>("variant"), "blue");
  EXPECT_EQ(*entity.get<std::string>("reason"), "SPLIT");
  EXPECT_EQ(keys::event_from_entity(entity), e);
  EXPECT_EQ(encode_table_entity(entity).find("Timestamp"), std::string::npos);

  TableEntity counter{"flag-a", keys::kCounterRow, {{"true_count", std::int64_t{1}}}, ""};
  EXPECT_FALSE(keys::event_from_entity(counter));
}

namespace {

// A partition store that answers like Cosmos DB for Table: every entity of a RowKey range, in
// no particular order. Counts the ranges asked for.
struct UnsortedTable {
  std::map<std::string, std::vector<TableEntity>> partitions;
  std::mt19937 random{3};
  int reads = 0;

  void add(const std::string& partition, std::int64_t millis, const std::string& id) {
    partitions[partition].push_back({partition, keys::row_key(millis, id), {{"event_id", id}}, ""});
  }
  keys::ReadRange reader() {
    return [this](const std::string& partition, const std::string& from, const std::string& to) {
      ++reads;
      std::vector<TableEntity> out;
      for (const auto& e : partitions[partition]) {
        if (e.row_key >= from && e.row_key < to) out.push_back(e);
      }
      std::shuffle(out.begin(), out.end(), random);
      return out;
    };
  }
  // What the reader must return: the `wanted` smallest RowKeys of those partitions in the range.
  std::vector<std::string> expected(const std::vector<std::string>& names, std::int64_t newest, std::int64_t oldest,
                                    std::size_t wanted) {
    std::vector<std::string> keys_in_range;
    for (const auto& name : names) {
      for (const auto& e : partitions[name]) {
        if (e.row_key >= keys::row_prefix(newest) && e.row_key < keys::row_prefix(oldest - 1))
          keys_in_range.push_back(e.row_key);
      }
    }
    std::sort(keys_in_range.begin(), keys_in_range.end());
    if (keys_in_range.size() > wanted) keys_in_range.resize(wanted);
    return keys_in_range;
  }
};

std::vector<std::string> row_keys(const std::vector<TableEntity>& entities) {
  std::vector<std::string> out;
  for (const auto& e : entities) out.push_back(e.row_key);
  return out;
}

}  // namespace

TEST(CosmosEventKeys, ReadNewestNeedsNoOrderFromTheService) {
  UnsortedTable table;
  const std::int64_t now = 1796043600000;
  std::mt19937 random(11);
  // A busy minute, a quiet month before it, a burst a year earlier, a few in the future (clock
  // skew), ties within one millisecond, and two partitions read together.
  for (int i = 0; i < 3000; ++i)
    table.add(i % 2 ? "a" : "b", now - std::uniform_int_distribution<>(0, 60000)(random), "busy-" + std::to_string(i));
  for (int i = 0; i < 20; ++i) table.add("a", now - 86400000LL * (2 + i), "quiet-" + std::to_string(i));
  for (int i = 0; i < 200; ++i) table.add("b", now - 365LL * 86400000 + i, "old-" + std::to_string(i));
  for (int i = 0; i < 5; ++i) table.add("a", now + 5000 + i, "future-" + std::to_string(i));
  for (const char* id : {"t1", "t2", "t10", "t"}) table.add("b", now - 30000, id);

  for (std::size_t wanted :
       {std::size_t{1}, std::size_t{7}, std::size_t{100}, std::size_t{2999}, std::size_t{3030}, std::size_t{5000}}) {
    table.reads = 0;
    auto got = keys::read_newest(table.reader(), {"a", "b"}, keys::kNewestMillis, keys::kOldestMillis, now, wanted);
    EXPECT_EQ(row_keys(got), table.expected({"a", "b"}, keys::kNewestMillis, keys::kOldestMillis, wanted))
        << "wanted " << wanted;
    // Windows grow at least twofold: a bounded number of reads from now back to year 0.
    EXPECT_LE(table.reads, 2 * 30) << "wanted " << wanted;
  }
  // Bounded to an interval (an hour of the time index): nothing outside it.
  std::int64_t start = now - 3600000, end = now - 1;
  auto hour = keys::read_newest(table.reader(), {"a", "b"}, end, start, now, 50);
  EXPECT_EQ(row_keys(hour), table.expected({"a", "b"}, end, start, 50));
  auto old = keys::read_newest(table.reader(), {"b"}, now - 300LL * 86400000, keys::kOldestMillis, now, 1000);
  EXPECT_EQ(row_keys(old), table.expected({"b"}, now - 300LL * 86400000, keys::kOldestMillis, 1000));
  EXPECT_EQ(old.size(), 200u);
  EXPECT_TRUE(keys::read_newest(table.reader(), {"a"}, keys::kNewestMillis, keys::kOldestMillis, now, 0).empty());
  EXPECT_TRUE(keys::read_newest(table.reader(), {"none"}, keys::kNewestMillis, keys::kOldestMillis, now, 10).empty());
}

namespace {

// Sets the variables for one test and restores the environment after it.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const char* name : {"AZURE_SERVICEBUS_CONNECTION_STRING", "AZURE_SERVICEBUS_QUEUE",
                             "AZURE_COSMOS_CONNECTION_STRING", "AZURE_COSMOS_TABLE"}) {
      ::unsetenv(name);
    }
    for (auto [name, value] : vars) ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    for (const char* name : {"AZURE_SERVICEBUS_CONNECTION_STRING", "AZURE_SERVICEBUS_QUEUE",
                             "AZURE_COSMOS_CONNECTION_STRING", "AZURE_COSMOS_TABLE"}) {
      ::unsetenv(name);
    }
  }
};

constexpr const char* kBus =
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=app;SharedAccessKey=c2VjcmV0LWtleS12YWx1ZQ==";
constexpr const char* kTables =
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0LWtleS12YWx1ZQ==;"
    "TableEndpoint=https://acct.table.cosmos.azure.com:443/;";

bool mentions(const Env& env, const std::string& text) {
  for (const auto& p : env.problems()) {
    if (p.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(AzureSettings, DefaultsAndOverrides) {
  {
    ScopedEnv vars({{"AZURE_SERVICEBUS_CONNECTION_STRING", kBus}, {"AZURE_COSMOS_CONNECTION_STRING", kTables}});
    Env env;
    auto bus = servicebus_settings_from_env(env);
    auto cosmos = cosmos_settings_from_env(env);
    EXPECT_TRUE(env.problems().empty());
    EXPECT_EQ(bus.connection.host, "ns.servicebus.windows.net");
    EXPECT_EQ(bus.queue, "evaluation-events");
    EXPECT_EQ(cosmos.table, "EvaluationEvents");
    EXPECT_EQ(cosmos.connection.account, "acct");
    EXPECT_EQ(bus.describe().find("c2VjcmV0"), std::string::npos);
    EXPECT_EQ(cosmos.describe().find("c2VjcmV0"), std::string::npos);
    EXPECT_NE(cosmos.describe().find("EvaluationEventsByTime"), std::string::npos);
  }
  {
    std::string scoped = std::string(kBus) + ";EntityPath=events-from-path";
    ScopedEnv vars({{"AZURE_SERVICEBUS_CONNECTION_STRING", scoped.c_str()}, {"AZURE_COSMOS_TABLE", "Events2"}});
    Env env;
    EXPECT_EQ(servicebus_settings_from_env(env).queue, "events-from-path");
    EXPECT_TRUE(env.problems().empty());
  }
  {
    ScopedEnv vars({{"AZURE_SERVICEBUS_CONNECTION_STRING", "Endpoint=sb://127.0.0.1:5672/;UseDevelopmentEmulator=true"},
                    {"AZURE_SERVICEBUS_QUEUE", "/queue/evaluation-events"}});
    Env env;
    auto bus = servicebus_settings_from_env(env);
    EXPECT_TRUE(env.problems().empty());
    EXPECT_EQ(bus.queue, "/queue/evaluation-events");
    EXPECT_TRUE(bus.connection.development_emulator);
  }
}

TEST(AzureSettings, ProblemsNameTheVariableAndNeverTheKey) {
  {
    ScopedEnv vars({});
    Env env;
    servicebus_settings_from_env(env);
    cosmos_settings_from_env(env);
    EXPECT_TRUE(mentions(env, "AZURE_SERVICEBUS_CONNECTION_STRING must be set"));
    EXPECT_TRUE(mentions(env, "AZURE_COSMOS_CONNECTION_STRING must be set"));
  }
  {
    std::string scoped = std::string(kBus) + ";EntityPath=a";
    ScopedEnv vars({{"AZURE_SERVICEBUS_CONNECTION_STRING", scoped.c_str()},
                    {"AZURE_SERVICEBUS_QUEUE", "b"},
                    {"AZURE_COSMOS_CONNECTION_STRING",
                     "DefaultEndpointsProtocol=ftp;AccountName=acct;AccountKey=c2VjcmV0LWtleS12YWx1ZQ=="},
                    {"AZURE_COSMOS_TABLE", "Evaluation-Events"}});
    Env env;
    servicebus_settings_from_env(env);
    cosmos_settings_from_env(env);
    EXPECT_TRUE(mentions(env, "AZURE_SERVICEBUS_QUEUE=b differs"));
    EXPECT_TRUE(mentions(env, "AZURE_COSMOS_TABLE=Evaluation-Events is not a table name"));
    EXPECT_TRUE(mentions(env, "AZURE_COSMOS_CONNECTION_STRING: "));
    for (const auto& p : env.problems()) EXPECT_EQ(p.find("c2VjcmV0"), std::string::npos) << p;
  }
  {
    // Room for the ByTime suffix: 57 characters at most.
    std::string long_name(58, 'a');
    ScopedEnv vars({{"AZURE_COSMOS_CONNECTION_STRING", kTables}, {"AZURE_COSMOS_TABLE", long_name.c_str()}});
    Env env;
    cosmos_settings_from_env(env);
    EXPECT_TRUE(mentions(env, "is not a table name"));
  }
}
