// A flag the snapshot does not have (created a moment ago, or before the first sync completes)
// is fetched directly from flag-service and targeting-service, both at once, once for all the
// requests that ask for it meanwhile; the answer is remembered briefly.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "catalog.hpp"
#include "toggle/core/worker_pool.hpp"

namespace toggle::evaluation {

struct Lookup {
  enum class Status { found, not_found, unavailable } status = Status::unavailable;
  FlagEntry flag;       // when found: as the catalog would hold it
  std::string problem;  // when unavailable, or found but its rule could not be fetched
  bool degraded() const { return !problem.empty(); }
};

struct FetchOptions {
  std::string flag_service_url, targeting_service_url, api_key;
  std::chrono::milliseconds remember{1000};
  std::chrono::milliseconds timeout{2000};
  unsigned threads = 4;  // lookups under way at once (MISS_FETCH_THREADS)
};

class MissFetcher {
 public:
  explicit MissFetcher(FetchOptions options);
  // A lookup made less than `remember` ago.
  std::optional<Lookup> recent(std::string_view flag_name);
  // Looks the flag up (sharing a lookup already under way) and calls `done` from a worker thread.
  void fetch(const std::string& flag_name, std::function<void(const Lookup&)> done);
  // Waits for the lookups under way (shutdown: their callbacks use what the caller owns).
  void stop() { pool_.join(); }

 private:
  Lookup lookup(const std::string& flag_name) const;

  FetchOptions opt_;
  WorkerPool pool_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::vector<std::function<void(const Lookup&)>>> in_flight_;
  struct Remembered {
    Lookup lookup;
    std::chrono::steady_clock::time_point until;
  };
  std::unordered_map<std::string, Remembered, rules::StringHash, std::equal_to<>> recent_;
};

}  // namespace toggle::evaluation
