#include "app.hpp"

#include "http_publisher.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/metrics.hpp"

namespace toggle::evaluation {

EvaluationService::Config EvaluationService::Config::from_env(Env& env, const ServiceSettings& service) {
  Config c;
  c.flag_url = env.url("FLAG_SERVICE_URL", "http://localhost:8002");
  c.targeting_url = env.url("TARGETING_SERVICE_URL", "http://localhost:8003");
  c.analytics_url = env.url("ANALYTICS_SERVICE_URL", "http://localhost:8005");
  c.auth_url = auth_service_url(env);
  c.service_key = service_api_key(env);
  c.require_key = env.boolean("EVALUATE_REQUIRE_KEY", false);
  c.ofrep.bulk_events = env.boolean("OFREP_BULK_EVENTS", false);
  c.key_check_threads = static_cast<unsigned>(env.integer("KEY_CHECK_THREADS", 2, 1, 64));
  c.events.spool_dir = service.data_dir + "/evaluation-spool";
  c.events.capacity = static_cast<std::size_t>(env.integer("EVENT_BUFFER_CAPACITY", 100000, 1000, 10000000));
  c.events.batch_size = static_cast<std::size_t>(env.integer("EVENT_BATCH_SIZE", 1000, 1, 5000));
  c.events.flush_interval = env.millis("EVENT_FLUSH_INTERVAL_MS", 100, 10, 60000);
  c.events.spool_max_bytes =
      static_cast<std::uint64_t>(env.integer("EVENT_SPOOL_MAX_BYTES", 1ll << 30, 1 << 20, 1ll << 40));
  std::string sync = env.str("EVENT_SPOOL_SYNC", "group");
  if (sync == "none") c.events.sync = SpoolSync::none;
  else if (sync != "group") env.fail("EVENT_SPOOL_SYNC must be group or none");
  c.flush_on_stop = env.millis("EVENT_FLUSH_ON_STOP_MS", 5000, 0, 60000);
  c.feeds.api_key = c.service_key;
  c.feeds.wait = env.millis("SYNC_WAIT_MS", 25000, 100, 60000);
  c.feeds.full_resync = env.millis("SYNC_FULL_RESYNC_MS", 300000, 1000, 86400000);
  c.misses = {c.flag_url, c.targeting_url, c.service_key};
  c.misses.remember = env.millis("MISS_CACHE_MS", 1000, 0, 60000);
  c.misses.threads = static_cast<unsigned>(env.integer("MISS_FETCH_THREADS", 4, 1, 64));
  c.misses.queue = static_cast<std::size_t>(env.integer("MISS_FETCH_QUEUE", 1000, 1, 1000000));
  c.misses.rate = static_cast<double>(env.integer("MISS_FETCH_RATE", 100, 1, 1000000));
  std::string redis_url = env.str("REDIS_URL", "");
  if (!redis_url.empty()) {
    c.redis = parse_redis_url(redis_url);
    if (!c.redis) env.fail("REDIS_URL is not redis[s]://[[user]:password@]host[:port][/db] (value not shown: it may hold a password)");
    else c.redis->ca_file = env.str("REDIS_TLS_CA_FILE", "");
  }
  c.pipeline = cloud::PipelineSettings::from_env(env, cloud::PipelineRole::publisher);
  return c;
}

EvaluationService::EvaluationService(const Config& config) {
  flags_gauge_ = metrics().gauge("evaluation_flags_loaded", "Flags in the in-memory snapshot",
                                 [this] { return double(catalog_.size()); });
  if (config.redis) shared_ = std::make_unique<SharedCache>(*config.redis, config.service_key);
  auto share = [this](const char* feed) {
    return [this, feed](const FeedPosition& base, const json& reply) {
      if (shared_) shared_->share(feed, base, reply);
    };
  };
  auto feed = [&config](const char* service, const std::string& url) {
    FeedOptions o = config.feeds;
    o.service = service;
    o.base_url = url;
    return o;
  };
  flags_ = std::make_unique<FeedFollower>(
      feed("flag-service", config.flag_url), [this](const json& reply) { catalog_.apply_flag_changes(reply); },
      share("flags"));
  rules_ = std::make_unique<FeedFollower>(
      feed("targeting-service", config.targeting_url),
      [this](const json& reply) { catalog_.apply_rule_changes(reply); }, share("rules"));
  // Segments: targeting-service's second feed, GET /segments/changes.
  segments_ = std::make_unique<FeedFollower>(
      feed("targeting-service (segments)", config.targeting_url + "/segments"),
      [this](const json& reply) { catalog_.apply_segment_changes(reply); }, share("segments"));
  std::map<std::string, FeedFollower*> followers = {
      {"flags", flags_.get()}, {"rules", rules_.get()}, {"segments", segments_.get()}};
  if (shared_) {
    // Warm start: the state another replica stored, before the change feeds answer.
    for (auto [name, follower] : followers)
      if (auto state = shared_->load(name)) {
        try {
          follower->accept({}, *state);
        } catch (const std::exception& e) {  // signed, yet not applicable: start cold
          log::warn("ignored the state stored in redis", {{"feed", name}, {"error", e.what()}});
        }
      }
    if (catalog_.complete()) log::info("warmed from redis", {{"flags", catalog_.size()}});
    auto full_state = [](FeedFollower& f, const char* key, std::function<json()> items) {
      return [&f, key, items] {
        FeedPosition at = f.position();  // before the items: the state is at least this new
        return json{
            {"epoch", at.epoch}, {"version", at.version}, {"full", true}, {key, items()}, {"deleted", json::array()}};
      };
    };
    shared_->start({{"flags", full_state(*flags_, "flags", [this] { return catalog_.export_flags(); })},
                    {"rules", full_state(*rules_, "rules", [this] { return catalog_.export_rules(); })},
                    {"segments", full_state(*segments_, "segments", [this] { return catalog_.export_segments(); })}},
                   [followers](const std::string& feed, const FeedPosition& base, const json& reply) {
                     // A feed this version does not know (a newer replica's) is ignored.
                     if (auto it = followers.find(feed); it != followers.end()) it->second->accept(base, reply);
                   });
  }
  fetcher_ = std::make_unique<MissFetcher>(config.misses);
  // Events leave from the sender's thread, never from a request: to analytics-service directly,
  // or to the cloud queue (CLOUD_PROVIDER).
  log::info("event pipeline", {{"pipeline", config.pipeline.describe()}});
  events_ = std::make_unique<EventSender>(
      config.events, config.pipeline.direct()
                         ? std::make_unique<HttpEventPublisher>(config.analytics_url, config.service_key)
                         : cloud::make_event_publisher(config.pipeline));
  if (config.require_key) keys_ = std::make_unique<KeyValidator>(config.auth_url, config.service_key);
  key_gate_ = std::make_unique<KeyGate>(keys_.get(), config.key_check_threads);
  api_ = std::make_unique<EvaluateApi>(catalog_, *fetcher_, *events_, *key_gate_);
  api_->add_routes(router());
  ofrep_ = std::make_unique<OfrepApi>(catalog_, *fetcher_, *events_, *key_gate_, config.ofrep);
  ofrep_->add_routes(router());

  add_readiness_check([this] {
    return catalog_.complete() ? ""
                               : "flags, rules and segments not loaded yet from flag-service and targeting-service";
  });
  add_readiness_check([this] { return events_->publisher().readiness(); });
  events_->start();
  flags_->start();
  rules_->start();
  segments_->start();
  // After the server stops, in reverse order of these lines: the work still under way for requests
  // (key checks, lookups: their callbacks use the API, the catalog and the sender), the feeds and
  // Redis, then a last delivery of the events.
  on_stop([this, deadline = config.flush_on_stop] { events_->stop(deadline); });
  on_stop([this] {
    flags_->stop();
    rules_->stop();
    segments_->stop();
    if (shared_) shared_->stop();
  });
  on_stop([this] {
    key_gate_->stop();
    fetcher_->stop();
  });
}

EvaluationService::~EvaluationService() { stop(); }

}  // namespace toggle::evaluation
