// evaluation-service's EventSender with its HTTP transport (HttpEventPublisher) against a real
// analytics-service: delivery, the disk spool while analytics is down, draining it when analytics
// is back on the same port, the spool surviving a stop, torn spool files set aside, a spool that
// cannot be written, and a batch analytics keeps failing on.
#include <set>

#include "evaluation-service/http_publisher.hpp"
#include "harness.hpp"
#include "running_app.hpp"
#include "toggle/core/app.hpp"
#include "toggle/core/metrics.hpp"

namespace itest {
namespace {

using toggle::Event;
using toggle::evaluation::EventSender;
using toggle::evaluation::HttpEventPublisher;
using toggle::evaluation::SenderOptions;

constexpr const char* kFlag = "sender-flag";

class EventSenderTest : public ::testing::Test {
 protected:
  TempDir dir;
  AuthService auth{dir};
  AnalyticsService analytics{dir, auth.url()};
  std::string spool_dir = dir.file("spool");

  SenderOptions options(std::chrono::milliseconds flush_interval = 20ms, std::size_t batch_size = 50) {
    SenderOptions o;
    o.spool_dir = spool_dir;
    o.batch_size = batch_size;
    o.flush_interval = flush_interval;
    o.timeout = 2000ms;
    return o;
  }
  // A sender posting to analytics with the service key, as evaluation-service's is.
  std::unique_ptr<EventSender> make_sender(SenderOptions o) {
    return std::make_unique<EventSender>(std::move(o), std::make_unique<HttpEventPublisher>(analytics.url(), kServiceKey));
  }

  // `n` events with fresh ids; their ids are added to `ids`.
  std::vector<Event> make_events(int n, std::set<std::string>& ids) {
    std::vector<Event> out;
    for (int i = 0; i < n; ++i) {
      Event e{toggle::crypto::uuid_v4(), "user-" + std::to_string(i), kFlag, i % 3 == 0, toggle::iso8601_now()};
      ids.insert(e.event_id);
      out.push_back(std::move(e));
    }
    return out;
  }

  std::multiset<std::string> stored_ids() {
    std::multiset<std::string> ids;
    for (const auto& e : analytics.store().recent(std::string(kFlag), 10000)) ids.insert(e.event_id);
    return ids;
  }
  std::set<std::string> stored_set() {
    auto ids = stored_ids();
    return {ids.begin(), ids.end()};
  }

  static std::uint64_t counter(const std::string& name) { return toggle::metrics().counter(name, "").value(); }
  // A spool file as the sender writes it: a header (events, bytes, SHA-256), then the batch.
  static std::string spool_text(const std::vector<Event>& events) {
    std::string batch = toggle::to_json_array(events);
    return "toggle-spool 1 " + std::to_string(events.size()) + " " + std::to_string(batch.size()) + " " +
           toggle::crypto::sha256_hex(batch) + "\n" + batch;
  }
  void write_spool(const std::string& name, const std::string& text) {
    fs::create_directories(spool_dir);
    std::ofstream(fs::path(spool_dir) / name, std::ios::binary) << text;
  }
  std::vector<std::string> quarantined() {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(fs::path(spool_dir) / "quarantine", ec), end; !ec && it != end; it.increment(ec))
      names.push_back(it->path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  std::vector<fs::path> spool_files() {
    std::vector<fs::path> files;
    if (!fs::exists(spool_dir)) return files;
    for (const auto& entry : fs::directory_iterator(spool_dir))
      if (entry.path().extension() == ".json") files.push_back(entry.path());
    return files;
  }
  // Event ids found in the spool files.
  std::set<std::string> spooled_ids() {
    std::set<std::string> ids;
    for (const auto& path : spool_files()) {
      std::string text = read_file(path);
      json batch = json::parse(text.substr(text.find('\n') + 1), nullptr, false);  // after the header
      if (!batch.is_array()) continue;  // being written
      for (const auto& e : batch) ids.insert(e.at("event_id").get<std::string>());
    }
    return ids;
  }
};

TEST_F(EventSenderTest, EventsAreDelivered) {
  auto sender = make_sender(options());
  sender->start();
  std::set<std::string> ids;
  for (auto& e : make_events(120, ids)) sender->emit(std::move(e));
  ASSERT_TRUE(eventually([&] { return stored_set() == ids; })) << "stored " << stored_ids().size() << " of 120";
  EXPECT_EQ(stored_ids().size(), 120u);
  EXPECT_EQ(sender->spooled_files(), 0u);
  EXPECT_TRUE(spool_files().empty());
  auto s = analytics.store().summary(kFlag);
  EXPECT_EQ(s.true_count, 40);
  EXPECT_EQ(s.false_count, 80);

  // The event as analytics stored it.
  auto one = analytics.store().recent(std::string(kFlag), 10000);
  ASSERT_FALSE(one.empty());
  EXPECT_TRUE(is_iso8601_utc(one[0].timestamp));
  sender->stop(1000ms);
}

TEST_F(EventSenderTest, SpoolsWhileAnalyticsIsDownAndDrainsItOnceWhenItIsBack) {
  auto sender = make_sender(options());
  sender->start();
  std::set<std::string> before, during, after;
  for (auto& e : make_events(30, before)) sender->emit(std::move(e));
  ASSERT_TRUE(eventually([&] { return stored_set() == before; }));

  analytics.stop();
  for (auto& e : make_events(75, during)) sender->emit(std::move(e));
  ASSERT_TRUE(eventually([&] { return spooled_ids() == during; }))
      << "spooled " << spooled_ids().size() << " of 75 events";
  EXPECT_GT(sender->spooled_files(), 0u);
  EXPECT_EQ(sender->spooled_files(), spool_files().size());

  // Events emitted while the spool is not empty queue behind it, on disk, to keep their order.
  for (auto& e : make_events(10, during)) sender->emit(std::move(e));
  ASSERT_TRUE(eventually([&] { return spooled_ids() == during; }));

  analytics.start();  // same port, same database
  std::set<std::string> all = before;
  all.insert(during.begin(), during.end());
  ASSERT_TRUE(eventually([&] { return stored_set() == all; }, 20000ms))
      << "stored " << stored_set().size() << " of " << all.size() << "; spool files left: " << spool_files().size();
  EXPECT_TRUE(eventually([&] { return spool_files().empty() && sender->spooled_files() == 0; }));

  for (auto& e : make_events(20, after)) sender->emit(std::move(e));
  all.insert(after.begin(), after.end());
  ASSERT_TRUE(eventually([&] { return stored_set() == all; }));
  sender->stop(1000ms);

  auto ids = stored_ids();
  EXPECT_EQ(ids.size(), all.size()) << "every event stored exactly once";
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), all);
  auto s = analytics.store().summary(kFlag);
  EXPECT_EQ(static_cast<std::size_t>(s.true_count + s.false_count), all.size()) << "counted exactly once";
}

TEST_F(EventSenderTest, StopWithAnalyticsDownSpoolsTheBufferForTheNextSender) {
  analytics.stop();
  std::set<std::string> ids;
  {
    // A long flush interval keeps the events in memory until stop().
    auto sender = make_sender(options(60000ms, 1000));
    sender->start();
    for (auto& e : make_events(40, ids)) sender->emit(std::move(e));
    EXPECT_TRUE(spool_files().empty()) << "nothing is written before stop()";
    sender->stop(500ms);
    EXPECT_EQ(spooled_ids(), ids) << "stop() left the undelivered events in the spool";
    EXPECT_GT(sender->spooled_files(), 0u);
  }
  EXPECT_EQ(spooled_ids(), ids) << "the spool survives the sender";

  analytics.start();
  auto next = make_sender(options());
  next->start();
  ASSERT_TRUE(eventually([&] { return stored_set() == ids; }, 15000ms))
      << "the new sender delivered " << stored_set().size() << " of " << ids.size();
  EXPECT_TRUE(eventually([&] { return spool_files().empty(); }));
  next->stop(1000ms);
  EXPECT_EQ(stored_ids().size(), ids.size());
}

TEST_F(EventSenderTest, StopWithAnalyticsUpDeliversTheBuffer) {
  std::set<std::string> ids;
  auto sender = make_sender(options(60000ms, 1000));
  sender->start();
  for (auto& e : make_events(25, ids)) sender->emit(std::move(e));
  sender->stop(2000ms);
  EXPECT_EQ(stored_set(), ids);
  EXPECT_TRUE(spool_files().empty());
}

TEST_F(EventSenderTest, LeftoverTemporaryFilesAreRemovedAtStart) {
  fs::create_directories(spool_dir);
  {
    std::ofstream partial(fs::path(spool_dir) / "00000000000000000001-00000000.json.tmp");
    partial << "[{\"event_id\":";
  }
  auto sender = make_sender(options());
  sender->start();
  EXPECT_FALSE(fs::exists(fs::path(spool_dir) / "00000000000000000001-00000000.json.tmp"));
  std::set<std::string> ids;
  for (auto& e : make_events(5, ids)) sender->emit(std::move(e));
  ASSERT_TRUE(eventually([&] { return stored_set() == ids; }));
  sender->stop(1000ms);
}

// Regression (fixed; services/evaluation-service/event_sender.cpp, EventSender::run/stop): stop(deadline) wakes
// the sender thread, which takes the buffer and tries to deliver it with the full `timeout`; stop()
// joins it first and only then applies `deadline` to what is left (nothing). With analytics slow to
// answer (here: its database locked by another writer), stop(200 ms) takes the delivery timeout.
TEST_F(EventSenderTest, StopKeepsItsDeadlineWhenAnalyticsIsSlow) {
  auto locker = toggle::sql::open_sqlite(analytics.db_path());
  auto lock = locker->acquire();
  lock->exec("BEGIN IMMEDIATE");  // analytics' writes now wait for the lock (busy timeout 5 s)

  SenderOptions o = options(60000ms, 1000);
  o.timeout = 3000ms;
  auto sender = make_sender(o);
  sender->start();
  std::set<std::string> ids;
  for (auto& e : make_events(5, ids)) sender->emit(std::move(e));
  auto started = std::chrono::steady_clock::now();
  sender->stop(200ms);
  auto took = std::chrono::steady_clock::now() - started;
  lock->exec("ROLLBACK");
  EXPECT_LT(took, 2000ms) << "stop(200ms) took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms";
  EXPECT_TRUE(eventually([&] { return spooled_ids() == ids || stored_set() == ids; }));
}

// A power loss can leave a spool file empty or cut short. Such a file is not sent (analytics would
// reject it, or store half a batch as if it were whole) nor silently deleted: it goes to
// <spool>/quarantine/ and its events are counted as lost; the whole files around it are delivered.
TEST_F(EventSenderTest, TornSpoolFilesAreSetAsideAndCountedNotSent) {
  std::set<std::string> first, last, torn;
  write_spool("00000000000000000001-00000000.json", spool_text(make_events(4, first)));
  write_spool("00000000000000000002-00000000.json", "");  // created, never written
  std::string whole = spool_text(make_events(7, torn));
  write_spool("00000000000000000003-00000000.json", whole.substr(0, whole.size() - 40));  // cut short
  std::string flipped = spool_text(make_events(3, torn));
  flipped[flipped.size() - 5] ^= 1;  // a bit flipped on the way to the disk
  write_spool("00000000000000000004-00000000.json", flipped);
  write_spool("00000000000000000005-00000000.json", spool_text(make_events(5, last)));
  auto quarantined_before = counter("events_quarantined_total");

  auto sender = make_sender(options());
  sender->start();
  std::set<std::string> whole_ids = first;
  whole_ids.insert(last.begin(), last.end());
  ASSERT_TRUE(eventually([&] { return stored_set() == whole_ids; })) << "stored " << stored_set().size();
  EXPECT_TRUE(eventually([&] { return spool_files().empty(); }));
  sender->stop(1000ms);
  EXPECT_EQ(quarantined(), (std::vector<std::string>{"00000000000000000002-00000000.json",
                                                      "00000000000000000003-00000000.json",
                                                      "00000000000000000004-00000000.json"}));
  EXPECT_EQ(counter("events_quarantined_total") - quarantined_before, 10u) << "7 + 3 from the headers; 0 for the empty file";
}

// Spool files written by earlier versions (a bare JSON array) are still delivered.
TEST_F(EventSenderTest, SpoolFilesOfEarlierVersionsAreDelivered) {
  std::set<std::string> ids;
  write_spool("00000000000000000001-00000000.json", toggle::to_json_array(make_events(6, ids)));
  auto sender = make_sender(options());
  sender->start();
  ASSERT_TRUE(eventually([&] { return stored_set() == ids; }));
  sender->stop(1000ms);
  EXPECT_TRUE(quarantined().empty());
}

// A spool that cannot be written (here its parent is a file, as on a read-only or full disk every
// write fails) must not stop evaluation-service: the sender keeps running and counts the events it
// cannot keep, then spools again once the disk takes writes.
TEST_F(EventSenderTest, AnUnwritableSpoolCountsDropsAndRecovers) {
  std::string blocker = dir.file("not-a-folder");
  std::ofstream(blocker) << "x";
  SenderOptions o = options();
  o.spool_dir = blocker + "/spool";
  spool_dir = o.spool_dir;
  auto sender = make_sender(o);
  sender->start();  // logs that the folder cannot be made; does not throw
  analytics.stop();
  auto dropped_before = counter("events_dropped_total");
  std::set<std::string> lost, kept;
  for (auto& e : make_events(12, lost)) sender->emit(std::move(e));
  ASSERT_TRUE(eventually([&] { return counter("events_dropped_total") - dropped_before == 12; }))
      << "dropped " << counter("events_dropped_total") - dropped_before;

  fs::remove(blocker);  // the disk takes writes again
  for (auto& e : make_events(8, kept)) sender->emit(std::move(e));
  ASSERT_TRUE(eventually([&] { return spooled_ids() == kept; })) << "spooled " << spooled_ids().size();
  analytics.start();
  ASSERT_TRUE(eventually([&] { return stored_set() == kept; }, 15000ms));
  sender->stop(1000ms);
}

// An analytics that answers 500 to every batch (its own failure, not an outage: 502/503/504 are
// retried for as long as it takes) gets each batch a bounded number of times; then the batch is
// set aside, so the batches after it are not held back for ever.
TEST_F(EventSenderTest, ABatchTheTransportKeepsFailingOnIsSetAsideAfterBoundedRetries) {
  struct Failing : toggle::App {
    using Config = int;
    explicit Failing(const int&) {
      router().post("/events", [](toggle::Request&) -> toggle::Reply { throw std::runtime_error("disk on fire"); });
    }
  };
  testsupport::RunningApp<Failing> failing(0);
  SenderOptions o = options();
  o.max_refusals = 3;
  o.retry_min = o.retry_max = 20ms;
  auto quarantined_before = counter("events_quarantined_total");
  auto sender = std::make_unique<EventSender>(o, std::make_unique<HttpEventPublisher>(failing.url(), kServiceKey));
  sender->start();
  std::set<std::string> ids;
  for (auto& e : make_events(9, ids)) sender->emit(std::move(e));
  ASSERT_TRUE(eventually([&] { return counter("events_quarantined_total") - quarantined_before == 9; }))
      << "quarantined " << counter("events_quarantined_total") - quarantined_before;
  EXPECT_TRUE(eventually([&] { return sender->spooled_files() == 0; }));
  EXPECT_FALSE(quarantined().empty());
  sender->stop(500ms);
}

}  // namespace
}  // namespace itest
