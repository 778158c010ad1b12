// evaluation-service (port 8004): the hot path. Answers GET /evaluate and OFREP from an in-memory
// snapshot of every flag, rule and segment, fed by flag- and targeting-service's change feeds (and,
// with REDIS_URL, by the other replicas through Redis); sends events through the event pipeline.
#pragma once

#include <memory>
#include <string>

#include "catalog.hpp"
#include "evaluate_api.hpp"
#include "event_sender.hpp"
#include "key_gate.hpp"
#include "miss_fetcher.hpp"
#include "ofrep_api.hpp"
#include "shared_cache.hpp"
#include "toggle/cloud/pipeline.hpp"
#include "toggle/core/app.hpp"
#include "toggle/core/feed_follower.hpp"
#include "toggle/core/redis.hpp"
#include "toggle/core/service.hpp"

namespace toggle::evaluation {

class EvaluationService : public App {
 public:
  struct Config {
    std::string flag_url, targeting_url, analytics_url, auth_url, service_key;
    bool require_key = false;        // EVALUATE_REQUIRE_KEY (/evaluate and OFREP)
    OfrepApi::Options ofrep;         // OFREP_BULK_EVENTS
    unsigned key_check_threads = 2;  // KEY_CHECK_THREADS
    SenderOptions events;            // EVENT_*
    std::chrono::milliseconds flush_on_stop{5000};
    FeedOptions feeds;                  // SYNC_*: wait and full resync (service and URL set per feed)
    FetchOptions misses;                // MISS_CACHE_MS, MISS_FETCH_THREADS, MISS_FETCH_QUEUE
    std::optional<RedisAddress> redis;  // REDIS_URL
    cloud::PipelineSettings pipeline;   // CLOUD_PROVIDER, AWS_*: where events go
    static Config from_env(Env& env, const ServiceSettings& service);
  };

  explicit EvaluationService(const Config& config);
  ~EvaluationService() override;
  Catalog& catalog() { return catalog_; }
  EventSender& events() { return *events_; }

 private:
  Catalog catalog_;
  GaugeHandle flags_gauge_;
  std::unique_ptr<SharedCache> shared_;
  std::unique_ptr<FeedFollower> flags_, rules_, segments_;
  std::unique_ptr<MissFetcher> fetcher_;
  std::unique_ptr<EventSender> events_;
  std::unique_ptr<KeyValidator> keys_;
  std::unique_ptr<KeyGate> key_gate_;
  std::unique_ptr<EvaluateApi> api_;
  std::unique_ptr<OfrepApi> ofrep_;
};

}  // namespace toggle::evaluation
