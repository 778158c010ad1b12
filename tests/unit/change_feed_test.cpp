// Unit tests for libs/core change_feed.hpp. The feed is driven through a real Server route that
// calls feed.handle(req), so parked requests take the Deferred path; a few cases call wait() and
// handle() directly.
#include "toggle/core/change_feed.hpp"
#include "toggle/core/feed_follower.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "eventually.hpp"
#include "toggle/core/client.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/server.hpp"
#include "toggle/core/database.hpp"
#include "toggle/core/migrate.hpp"
#include "toggle/core/sql.hpp"

namespace {

using namespace std::chrono_literals;
using toggle::ChangeFeed;
using toggle::Reply;
using toggle::Request;
using toggle::Response;

using testsupport::eventually;

// What the builder was asked for, and whether it should fail.
struct BuildLog {
  std::mutex m;
  std::vector<std::pair<std::int64_t, std::string>> calls;
  std::atomic<bool> fail{false};
  std::size_t count() {
    std::lock_guard lock(m);
    return calls.size();
  }
};

ChangeFeed::Builder builder_for(std::shared_ptr<BuildLog> log) {
  return [log](std::int64_t since, const std::string& epoch) -> Response {
    {
      std::lock_guard lock(log->m);
      log->calls.emplace_back(since, epoch);
    }
    if (log->fail) throw std::runtime_error("storage is down");
    return toggle::json_response(200, {{"since", since}, {"epoch", epoch}});
  };
}

// ---------------------------------------------------------------------------------------------
// Through a real server

class ChangeFeedServerTest : public testing::Test {
 protected:
  ChangeFeedServerTest() {
    router.get("/changes",
               [this](Request& req) -> Reply {
                 Reply reply = feed.handle(req);
                 if (auto* deferred = std::get_if<toggle::Deferred>(&reply))
                   return toggle::Deferred{[this, start = std::move(deferred->start)](toggle::Responder r) {
                     start(std::move(r));
                     ++parked;
                   }};
                 return reply;
               },
               {.blocking = false});
    toggle::ServerOptions opt;
    opt.host = "127.0.0.1";
    opt.io_threads = 2;
    opt.worker_threads = 2;
    server = std::make_unique<toggle::Server>(opt, router);
    server->start();
  }
  ~ChangeFeedServerTest() override {
    feed.close();
    server->stop(5s);
  }

  toggle::ClientResponse changes(const std::string& query, std::chrono::milliseconds timeout = 10s,
                                 const std::string& key = "") const {
    toggle::ClientRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(server->port()) + "/changes?" + query;
    req.timeout = timeout;
    if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
    return toggle::HttpClient().send(req);
  }
  std::future<toggle::ClientResponse> changes_async(const std::string& query, const std::string& key = "") const {
    return std::async(std::launch::async, [this, query, key] { return changes(query, 10s, key); });
  }
  static nlohmann::json body(const toggle::ClientResponse& r) { return nlohmann::json::parse(r.body); }

  std::shared_ptr<BuildLog> log = std::make_shared<BuildLog>();
  std::atomic<int> parked{0};
  toggle::Router router;
  ChangeFeed feed{5, "epoch-1", builder_for(log)};
  std::unique_ptr<toggle::Server> server;
};

TEST_F(ChangeFeedServerTest, AnswersAtOnceWhenTheReaderIsBehind) {
  // wait_ms is a minute and the client gives up after 5 s: only an immediate answer passes.
  auto res = changes("since=3&epoch=epoch-1&wait_ms=60000", 5s);
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(body(res)["since"], 3);
  EXPECT_EQ(body(res)["epoch"], "epoch-1");
  EXPECT_EQ(parked.load(), 0);
}

TEST_F(ChangeFeedServerTest, ParksWhenUpToDateUntilPublish) {
  auto reply = changes_async("since=5&epoch=epoch-1&wait_ms=60000");
  ASSERT_TRUE(eventually([&] { return parked.load() == 1; }));
  EXPECT_EQ(log->count(), 0u) << "a parked reader is not built a reply yet";
  EXPECT_EQ(reply.wait_for(0ms), std::future_status::timeout);

  feed.publish(5);  // not newer: must not wake anyone
  feed.publish(4);
  EXPECT_EQ(reply.wait_for(50ms), std::future_status::timeout);
  EXPECT_EQ(feed.version(), 5);

  feed.publish(6);
  auto res = reply.get();
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(body(res)["since"], 5);
  EXPECT_EQ(feed.version(), 6);
}

TEST_F(ChangeFeedServerTest, PublishWakesReadersThatHaveNotSeenTheNewVersion) {
  auto at5 = changes_async("since=5&epoch=epoch-1&wait_ms=60000");
  ASSERT_TRUE(eventually([&] { return parked.load() == 1; }));
  feed.publish(6);
  auto first = at5.get();
  ASSERT_EQ(first.status, 200) << first.error;
  EXPECT_EQ(body(first)["since"], 5);
  auto at6 = changes_async("since=6&epoch=epoch-1&wait_ms=60000");
  ASSERT_TRUE(eventually([&] { return parked.load() == 2; }));
  feed.publish(6);  // not newer: nothing to tell
  EXPECT_EQ(at6.wait_for(50ms), std::future_status::timeout) << "since=6 has seen version 6 already";
  feed.publish(7);
  auto second = at6.get();
  ASSERT_EQ(second.status, 200) << second.error;
  EXPECT_EQ(body(second)["since"], 6);
}

// Many readers parked at one position cost one reply build per write, not one per reader.
TEST_F(ChangeFeedServerTest, ReadersAtTheSamePositionShareOneBuiltReply) {
  std::vector<std::future<toggle::ClientResponse>> at5;
  for (int i = 0; i < 20; ++i) at5.push_back(changes_async("since=5&epoch=epoch-1&wait_ms=60000"));
  auto at4 = changes("since=4&epoch=epoch-1&wait_ms=60000");  // behind: answered at once
  ASSERT_EQ(at4.status, 200);
  ASSERT_TRUE(eventually([&] { return parked.load() == 20; }));
  std::size_t before = log->count();
  feed.publish(6);
  for (auto& r : at5) {
    auto res = r.get();
    ASSERT_EQ(res.status, 200) << res.error;
    EXPECT_EQ(body(res)["since"], 5);
  }
  EXPECT_EQ(log->count() - before, 1u) << "one build for the twenty readers at version 5";
}

// One API key cannot park more than its share of polls (each holds a connection): one more is
// refused with 429 at once; another key's polls still park.
TEST_F(ChangeFeedServerTest, OneKeyCannotParkMoreThanItsShareOfPolls) {
  feed.set_max_parked_per_reader(2);
  auto a1 = changes_async("since=5&epoch=epoch-1&wait_ms=60000", "key-a");
  auto a2 = changes_async("since=5&epoch=epoch-1&wait_ms=60000", "key-a");
  ASSERT_TRUE(eventually([&] { return parked.load() == 2; }));
  auto a3 = changes("since=5&epoch=epoch-1&wait_ms=60000", 5s, "key-a");
  EXPECT_EQ(a3.status, 429) << a3.body;
  EXPECT_NE(a3.body.find("too_many_polls"), std::string::npos) << a3.body;
  auto b1 = changes_async("since=5&epoch=epoch-1&wait_ms=60000", "key-b");
  ASSERT_TRUE(eventually([&] { return parked.load() == 3; }));
  feed.publish(6);
  EXPECT_EQ(a1.get().status, 200);
  EXPECT_EQ(a2.get().status, 200);
  EXPECT_EQ(b1.get().status, 200);
  // Answered polls free the key's share again.
  auto a4 = changes_async("since=6&epoch=epoch-1&wait_ms=60000", "key-a");
  ASSERT_TRUE(eventually([&] { return parked.load() == 4; }));
  feed.publish(7);
  EXPECT_EQ(a4.get().status, 200);
}

// A client that gives up on its poll frees its key's share at once, not when the wait it asked
// for ends (a minute here).
TEST_F(ChangeFeedServerTest, PollsWhoseClientsLeftFreeTheKeysShareAtOnce) {
  feed.set_max_parked_per_reader(3);
  const std::string query = "since=5&epoch=epoch-1&wait_ms=60000";
  auto give_up_soon = [&] { return changes(query, 300ms, "key-a"); };
  std::vector<std::future<toggle::ClientResponse>> gone;
  for (int i = 0; i < 3; ++i) gone.push_back(std::async(std::launch::async, give_up_soon));
  ASSERT_TRUE(eventually([&] { return parked.load() == 3; }));
  for (auto& g : gone) EXPECT_TRUE(g.get().timed_out);
  // A poll that is parked (its client gives up again) instead of refused with 429.
  ASSERT_TRUE(eventually([&] { return give_up_soon().status != 429; })) << "the key's share is still taken";
  EXPECT_TRUE(eventually([&] { return parked.load() == 4; }));
  auto next = changes_async(query, "key-a");
  ASSERT_TRUE(eventually([&] { return parked.load() == 5; }));
  feed.publish(6);
  auto res = next.get();
  EXPECT_EQ(res.status, 200) << res.error << res.body;
}

TEST_F(ChangeFeedServerTest, AReaderAheadOfTheFeedIsAnsweredAtOnce) {
  // e.g. the database was restored from a backup: the builder answers with the full set.
  auto res = changes("since=9&epoch=epoch-1&wait_ms=60000", 5s);
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(body(res)["since"], 9);
  EXPECT_EQ(parked.load(), 0);
}

TEST_F(ChangeFeedServerTest, TimesOutWithTheBuildersReply) {
  auto begin = std::chrono::steady_clock::now();
  auto res = changes("since=5&epoch=epoch-1&wait_ms=100");
  auto elapsed = std::chrono::steady_clock::now() - begin;
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(body(res)["since"], 5);
  EXPECT_EQ(parked.load(), 1);
  EXPECT_GE(elapsed, 100ms) << "answered before wait_ms";
  ASSERT_EQ(log->count(), 1u);
  EXPECT_EQ(log->calls[0], std::make_pair(std::int64_t{5}, std::string("epoch-1")));
}

TEST_F(ChangeFeedServerTest, CloseAnswersParkedReadersAtOnce) {
  auto a = changes_async("since=5&epoch=epoch-1&wait_ms=60000");
  auto b = changes_async("since=5&epoch=epoch-1&wait_ms=60000");
  ASSERT_TRUE(eventually([&] { return parked.load() == 2; }));
  feed.close();
  auto ra = a.get(), rb = b.get();  // the clients give up after 10 s
  EXPECT_EQ(ra.status, 200) << ra.error;
  EXPECT_EQ(rb.status, 200) << rb.error;
  EXPECT_EQ(body(rb)["since"], 5);

  // After close, even an up-to-date reader is answered at once.
  auto later = changes("since=5&epoch=epoch-1&wait_ms=60000", 5s);
  EXPECT_EQ(later.status, 200) << later.error;
  EXPECT_EQ(parked.load(), 2);
}

TEST_F(ChangeFeedServerTest, DifferentEpochAnswersAtOnce) {
  for (const char* query :
       {"since=5&epoch=epoch-0&wait_ms=60000", "since=99&epoch=other&wait_ms=60000", "since=5&wait_ms=60000"}) {
    auto res = changes(query, 5s);
    ASSERT_EQ(res.status, 200) << query << ": " << res.error;
    EXPECT_NE(body(res)["epoch"], "epoch-1") << query;
  }
  EXPECT_EQ(parked.load(), 0);
}

TEST_F(ChangeFeedServerTest, ZeroOrMissingWaitAnswersAtOnce) {
  for (const char* query : {"since=5&epoch=epoch-1&wait_ms=0", "since=5&epoch=epoch-1"}) {
    auto res = changes(query, 5s);
    ASSERT_EQ(res.status, 200) << query << ": " << res.error;
    EXPECT_EQ(body(res)["since"], 5);
  }
  EXPECT_EQ(parked.load(), 0);
}

TEST_F(ChangeFeedServerTest, MissingSinceMeansFromTheStart) {
  auto res = changes("epoch=epoch-1&wait_ms=60000", 5s);
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(body(res)["since"], 0);
}

TEST_F(ChangeFeedServerTest, BuilderFailureForAParkedReaderIs503) {
  auto reply = changes_async("since=5&epoch=epoch-1&wait_ms=60000");
  ASSERT_TRUE(eventually([&] { return parked.load() == 1; }));
  log->fail = true;
  feed.publish(6);
  auto res = reply.get();
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(res.body.find("storage is down"), std::string::npos) << res.body;
}

struct BadQueryCase {
  const char* name;
  std::string query;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const BadQueryCase& c, std::ostream* os) { *os << c.name; }

const std::vector<BadQueryCase> kBadQueries = {
    {"NegativeSince", "since=-1"},
    {"NonNumericSince", "since=abc"},
    {"EmptySince", "since="},
    {"DecimalSince", "since=1.5"},
    {"SinceWithSpace", "since=1+2"},
    {"SinceTooLong", "since=1234567890123456789"},
    {"SinceOverflow", "since=99999999999999999999"},
    {"MalformedPercentInSince", "since=%zz"},
    {"WaitAboveMaximum", "since=1&wait_ms=60001"},
    {"NegativeWait", "since=1&wait_ms=-5"},
    {"NonNumericWait", "since=1&wait_ms=1s"},
    {"EpochTooLong", "since=1&epoch=" + std::string(65, 'e')},
};

class ChangeFeedBadQuery : public ChangeFeedServerTest, public testing::WithParamInterface<BadQueryCase> {};

TEST_P(ChangeFeedBadQuery, Answers400) {
  auto res = changes(GetParam().query, 5s);
  EXPECT_EQ(res.status, 400) << res.body;
  auto parsed = nlohmann::json::parse(res.body, nullptr, false);
  EXPECT_TRUE(parsed.is_object() && parsed.contains("error")) << res.body;
  EXPECT_EQ(log->count(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Cases, ChangeFeedBadQuery, testing::ValuesIn(kBadQueries),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(ChangeFeedServerTest, BoundaryParametersAreAccepted) {
  // The largest accepted values (since: 18 digits); a different epoch keeps the answer immediate.
  auto res = changes("since=999999999999999999&epoch=" + std::string(64, 'e') + "&wait_ms=60000", 5s);
  ASSERT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(body(res)["since"], 999999999999999999LL);
}

// ---------------------------------------------------------------------------------------------
// Direct calls

TEST(ChangeFeedDirect, WaitReturnsAResponseOrADeferred) {
  auto log = std::make_shared<BuildLog>();
  ChangeFeed feed(10, "e", builder_for(log));
  EXPECT_TRUE(std::holds_alternative<Response>(feed.wait(9, "e", 1000ms)));
  EXPECT_TRUE(std::holds_alternative<Response>(feed.wait(10, "other", 1000ms)));
  EXPECT_TRUE(std::holds_alternative<Response>(feed.wait(10, "e", 0ms)));
  EXPECT_TRUE(std::holds_alternative<toggle::Deferred>(feed.wait(10, "e", 1000ms)));
  EXPECT_TRUE(std::holds_alternative<Response>(feed.wait(11, "e", 1000ms)));  // ahead: answered at once
  feed.close();
  EXPECT_TRUE(std::holds_alternative<Response>(feed.wait(10, "e", 1000ms)));
}

TEST(ChangeFeedDirect, HandleParsesTheQuery) {
  auto log = std::make_shared<BuildLog>();
  ChangeFeed feed(10, "e", builder_for(log));
  Request req;
  req.query_string = "since=3&epoch=e&wait_ms=500";
  auto reply = feed.handle(req);
  ASSERT_TRUE(std::holds_alternative<Response>(reply));
  ASSERT_EQ(log->count(), 1u);
  EXPECT_EQ(log->calls[0], std::make_pair(std::int64_t{3}, std::string("e")));
}

TEST(ChangeFeedDirect, DestructionAnswersParkedReaders) {
  struct Slot : toggle::Responder::Slot {
    std::promise<int> status;
    void complete(Response r) override { status.set_value(r.status); }
  };
  auto slot = std::make_shared<Slot>();
  auto answered = slot->status.get_future();
  {
    auto log = std::make_shared<BuildLog>();
    ChangeFeed feed(10, "e", builder_for(log));
    auto reply = feed.wait(10, "e", 60000ms);
    ASSERT_TRUE(std::holds_alternative<toggle::Deferred>(reply));
    std::get<toggle::Deferred>(reply).start(toggle::Responder(slot));
  }
  ASSERT_EQ(answered.wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(answered.get(), 200);
}

TEST(ChangeFeedDirect, AReaderThatLeavesFreesItsPlaceAtOnce) {
  struct Slot : toggle::Responder::Slot {
    std::function<void()> hook;
    void complete(Response) override {}
    void on_abandon(std::function<void()> h) override { hook = std::move(h); }
  };
  auto log = std::make_shared<BuildLog>();
  ChangeFeed feed(10, "e", builder_for(log));
  feed.set_max_parked_per_reader(1);
  auto slot = std::make_shared<Slot>();
  std::get<toggle::Deferred>(feed.wait(10, "e", 60000ms, "key")).start(toggle::Responder(slot));
  EXPECT_THROW(feed.wait(10, "e", 60000ms, "key"), toggle::Error) << "the key's share is taken";
  ASSERT_TRUE(slot->hook);
  slot->hook();  // the server noticed the reader's client leave
  EXPECT_TRUE(std::holds_alternative<toggle::Deferred>(feed.wait(10, "e", 60000ms, "key")));
  slot->hook();  // twice, or after the reader was answered: nothing to drop
}

TEST(ChangeFeedDirect, AnImmediateBuildDoesNotBlockPublish) {
  // Regression (fixed): ChangeFeed::wait (change_feed.cpp:41-46) calls build_() while holding mutex_. Builders
  // read storage (flag-service: store_.changes_since), so every reader that is behind holds the
  // feed lock for a database read: publish() from writers, other readers and the feed thread
  // all queue behind it (and a builder that calls feed.version() deadlocks).
  std::atomic<bool> building{false}, published{false}, saw_publish{false};
  ChangeFeed feed(10, "e", [&](std::int64_t, const std::string&) -> Response {
    building = true;
    // A slow storage read: meanwhile a writer commits and publishes.
    saw_publish = eventually([&] { return published.load(); }, 2s);
    return toggle::empty_response(204);
  });
  std::thread writer([&] {
    if (!eventually([&] { return building.load(); })) return;
    feed.publish(11);
    published = true;
  });
  feed.wait(3, "e", 0ms);
  writer.join();
  EXPECT_TRUE(saw_publish.load()) << "publish() waited for the builder";
  EXPECT_EQ(feed.version(), 11);
}

// A version source: replicas on one database, where a reader may have seen a version from another
// replica that this feed has not been told about yet.

TEST_F(ChangeFeedServerTest, AReaderAheadIsParkedWhenTheStoreHasItsVersion) {
  std::atomic<int> asked{0};
  feed.set_version_source([&] {
    ++asked;
    return std::int64_t{9};  // another replica wrote 6..9
  });
  auto reply = changes_async("since=9&epoch=epoch-1&wait_ms=60000");
  ASSERT_TRUE(eventually([&] { return parked.load() == 1; })) << "answered instead of parked";
  EXPECT_EQ(asked.load(), 1);
  EXPECT_EQ(feed.version(), 9) << "the version read from the store is published";
  EXPECT_EQ(log->count(), 0u);
  feed.publish(10);
  auto res = reply.get();
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(body(res)["since"], 9);
}

TEST_F(ChangeFeedServerTest, AReaderStillAheadOfTheStoreIsAnsweredAtOnce) {
  feed.set_version_source([] { return std::int64_t{7}; });
  auto res = changes("since=9&epoch=epoch-1&wait_ms=60000", 5s);  // e.g. a restored database
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(body(res)["since"], 9);
  EXPECT_EQ(parked.load(), 0);
  EXPECT_EQ(feed.version(), 7);
}

TEST_F(ChangeFeedServerTest, AReaderBehindTheRefreshedVersionIsAnsweredAtOnce) {
  // since=8 is ahead of what this feed knows (5) but behind the store (9).
  feed.set_version_source([] { return std::int64_t{9}; });
  auto res = changes("since=8&epoch=epoch-1&wait_ms=60000", 5s);
  ASSERT_EQ(res.status, 200) << res.error;
  EXPECT_EQ(body(res)["since"], 8);
  EXPECT_EQ(parked.load(), 0);
}

TEST_F(ChangeFeedServerTest, TheVersionSourceIsOnlyAskedForReadersAhead) {
  std::atomic<int> asked{0};
  feed.set_version_source([&] {
    ++asked;
    return std::int64_t{5};
  });
  EXPECT_EQ(changes("since=3&epoch=epoch-1&wait_ms=60000", 5s).status, 200);  // behind
  EXPECT_EQ(changes("since=9&epoch=other&wait_ms=60000", 5s).status, 200);    // another history
  EXPECT_EQ(changes("since=9&epoch=epoch-1&wait_ms=0", 5s).status, 200);      // no wait
  EXPECT_EQ(changes("since=5&epoch=epoch-1&wait_ms=100", 5s).status, 200);    // up to date
  EXPECT_EQ(asked.load(), 0);
}

TEST_F(ChangeFeedServerTest, AFailingVersionSourceIs503) {
  feed.set_version_source(
      []() -> std::int64_t { throw toggle::sql::Error(toggle::ErrorKind::unavailable, "storage is down"); });
  auto res = changes("since=9&epoch=epoch-1&wait_ms=60000", 5s);
  EXPECT_EQ(res.status, 503) << res.body;
  EXPECT_EQ(res.body.find("storage is down"), std::string::npos) << res.body;
  EXPECT_EQ(parked.load(), 0);
}

TEST(ChangeFeedDirect, AVersionSourceTurnsAReaderAheadIntoAParkedOne) {
  auto log = std::make_shared<BuildLog>();
  ChangeFeed feed(10, "e", builder_for(log));
  std::int64_t store_version = 12;
  feed.set_version_source([&] { return store_version; });
  EXPECT_TRUE(std::holds_alternative<toggle::Deferred>(feed.wait(12, "e", 1000ms)));
  EXPECT_EQ(feed.version(), 12);
  store_version = 13;
  EXPECT_TRUE(std::holds_alternative<Response>(feed.wait(14, "e", 1000ms))) << "ahead of the store too";
  EXPECT_EQ(feed.version(), 13);
  EXPECT_TRUE(std::holds_alternative<Response>(feed.wait(12, "e", 1000ms))) << "behind now";
  feed.close();
}

}  // namespace

// A reply whose version is not an integer (a float like 6.7e61 would be undefined behaviour to
// convert) is refused whole: nothing applied, the position unchanged. Found by fuzz/feed_fuzz.cpp.
TEST(FeedFollowerAccept, AVersionThatIsNotAnIntegerIsRefused) {
  int applied = 0;
  toggle::FeedFollower follower({}, [&applied](const nlohmann::json&) { ++applied; });
  nlohmann::json reply = {{"epoch", "e"}, {"version", 6.7e61}, {"full", true}, {"flags", nlohmann::json::array()},
                          {"deleted", nlohmann::json::array()}};
  EXPECT_THROW(follower.accept({}, reply), std::exception);
  reply["version"] = -1;
  EXPECT_THROW(follower.accept({}, reply), std::exception);
  EXPECT_EQ(applied, 0);
  EXPECT_EQ(follower.position().version, 0);
  reply["version"] = 3;
  EXPECT_TRUE(follower.accept({}, reply));
  EXPECT_EQ(follower.position().version, 3);
}
