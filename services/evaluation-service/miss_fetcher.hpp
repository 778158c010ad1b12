// A flag the snapshot does not have (created a moment ago, or before the first sync completes)
// is fetched directly from flag-service and targeting-service, both at once, once for all the
// requests that ask for it meanwhile; the answer is remembered briefly.
//
// Unknown names are free to send and costly to answer, so every part of this is bounded: the
// lookups under way (threads), the distinct names waiting for one (queue: beyond it, a new name
// is refused at once), the answers remembered (least recently used first out), and the time a
// request waits for its answer (timeout + a margin: then it is told so, and the late answer is
// still remembered for the next request).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "catalog.hpp"
#include "toggle/core/lru.hpp"
#include "toggle/core/worker_pool.hpp"

namespace toggle::evaluation {

struct Lookup {
  enum class Status {
    found,
    not_found,
    unavailable,  // flag-service could not say: `problem` says why
    refused,      // not looked up: too many names are waiting, or were looked up this second
    timed_out,    // no answer within the timeout (the lookup goes on, for the next request)
  } status = Status::unavailable;
  FlagEntry flag;       // when found: as the catalog would hold it
  std::string problem;  // when unavailable, or found but its rule could not be fetched
  bool degraded() const { return !problem.empty(); }
  // When there is no answer (unavailable, refused, timed_out): our error code (flag_unavailable,
  // too_many_lookups, flag_lookup_timeout) and what the client is told.
  std::string_view error_code() const;
  std::string error_message(const std::string& flag_name) const;
};

struct FetchOptions {
  std::string flag_service_url, targeting_service_url, api_key;
  std::chrono::milliseconds remember{1000};
  std::chrono::milliseconds timeout{2000};
  unsigned threads = 4;          // lookups under way at once (MISS_FETCH_THREADS)
  std::size_t queue = 1000;      // distinct names waiting for a thread, at most (MISS_FETCH_QUEUE)
  // New lookups started per second, at most, with as many at once (MISS_FETCH_RATE): a flood of
  // random names then costs the backends a trickle and evaluation little more than known flags.
  double rate = 100;
  std::size_t capacity = 10000;  // lookups remembered, at most
  // How much longer than `timeout` a request waits for its lookup: the time the lookup itself
  // may take beyond its calls' timeout.
  std::chrono::milliseconds margin{500};
};

class MissFetcher {
 public:
  explicit MissFetcher(FetchOptions options);
  ~MissFetcher();
  // A lookup made less than `remember` ago.
  std::optional<Lookup> recent(std::string_view flag_name);
  // What a request for `flag_name` can be answered without waiting: recent(), or else the refusal
  // (counted) a new lookup would get now. A flood of new names is refused without parking a reply
  // each; fetch() still decides for itself.
  std::optional<Lookup> answer_now(std::string_view flag_name);
  // Looks the flag up (sharing a lookup already under way) and calls `done` once: from a worker
  // thread with the answer, from the watchdog with timed_out, or at once with refused.
  void fetch(const std::string& flag_name, std::function<void(const Lookup&)> done);
  // Waits for the lookups under way, then stops the watchdog (shutdown: the callbacks use what
  // the caller owns). Every `done` has been called when it returns.
  void stop();

 private:
  using Callback = std::function<void(const Lookup&)>;
  struct Waiter {
    std::uint64_t id;
    Callback done;
  };
  struct Deadline {  // of waiter `id` of in_flight_[name]
    std::chrono::steady_clock::time_point at;
    std::uint64_t id;
    std::string name;
  };
  Lookup lookup(const std::string& flag_name) const;
  void watch();  // the watchdog thread: answers the waiters whose deadline has passed
  const Lookup* remembered(std::string_view flag_name);  // unexpired, or nullptr (mutex_ held)
  bool refuses_new_lookup();  // too many waiting, or no token in the MISS_FETCH_RATE bucket (mutex_ held)
  bool take_token();          // from that bucket (mutex_ held)

  FetchOptions opt_;
  WorkerPool pool_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<Waiter>> in_flight_;  // by name: looked up or queued
  // Every waiter's deadline, in order (the same wait for all); an answered waiter's is skipped.
  std::deque<Deadline> deadlines_;
  std::uint64_t next_id_ = 0;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_ = std::chrono::steady_clock::now();
  bool stopping_ = false;
  std::condition_variable wake_;
  struct Remembered {
    Lookup lookup;
    std::chrono::steady_clock::time_point until;
  };
  LruMap<Remembered> recent_;
  std::thread watchdog_;  // last: started when the rest is ready
};

}  // namespace toggle::evaluation
