// Push propagation by long poll. A store's every write advances a version; a reader asks for
// "changes after version V" and, when there are none yet, its request is parked until a write
// publishes a newer version, its wait times out, or the feed closes at shutdown. Parked requests
// hold no thread: they are Deferred replies answered from the feed's own thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "toggle/core/http.hpp"

namespace toggle {

class ChangeFeed {
 public:
  // `build(since, epoch)` makes the reply for a reader that has seen version `since` of history
  // `epoch` (it may block: storage). `epoch` identifies the store's history (see changelog.hpp).
  using Builder = std::function<Response(std::int64_t since, const std::string& epoch)>;
  ChangeFeed(std::int64_t version, std::string epoch, Builder build);
  ~ChangeFeed();

  std::int64_t version() const;
  // A write committed `version`: wake the readers that have not seen it.
  void publish(std::int64_t version);
  // Where the store's current version can be read (it may block: storage). With replicas sharing
  // one database, a reader may have seen a version from another replica that this feed has not
  // been told about yet; such a reader (same epoch, `since` ahead of version()) makes the feed
  // read the version from here first, and is then parked like any reader that is up to date,
  // instead of being answered at once and coming back in a loop. Without a source (one process
  // per database), a reader ahead is answered at once: its database was restored from a backup.
  void set_version_source(std::function<std::int64_t()> source);
  // A reader's request: answered now if something is newer than `since`, else parked. `reader`
  // (its API key) may have at most max_parked_per_reader() requests parked at once: one more is
  // refused with 429, so that one key cannot hold every connection of the service.
  Reply wait(std::int64_t since, const std::string& epoch, std::chrono::milliseconds max_wait,
             const std::string& reader = "");
  // GET ...?since=<version>&epoch=<epoch>&wait_ms=<0..60000>: wait() with checked parameters, for
  // the request's API key.
  Reply handle(const Request& req);
  void set_max_parked_per_reader(std::size_t max) { max_parked_per_reader_ = max; }
  std::size_t max_parked_per_reader() const { return max_parked_per_reader_; }
  // Answer every parked reader now, and all later ones at once (shutdown).
  void close();

 private:
  struct Waiter {
    std::int64_t since;
    std::string epoch;
    std::chrono::steady_clock::time_point deadline;
    Responder responder;
    std::string reader;
  };
  void loop();
  void answer(std::vector<Waiter>& due);  // outside the lock: building reads storage
  void unpark(const std::string& reader);  // under the lock: frees one of the reader's places
  void drop(std::uint64_t waiter);        // its client has gone

  Builder build_;
  std::function<std::int64_t()> version_source_;
  std::string epoch_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::int64_t version_;
  bool closed_ = false, stopping_ = false;
  std::unordered_map<std::uint64_t, Waiter> waiters_;  // by id: a client that leaves is dropped by it
  std::uint64_t next_waiter_ = 0;
  std::map<std::string, std::size_t, std::less<>> parked_per_reader_;
  std::size_t max_parked_per_reader_ = 1000;
  std::thread thread_;
};

}  // namespace toggle
