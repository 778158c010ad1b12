// evaluation-service: the hot path, GET /evaluate (port 8004).
#include "catalog.hpp"
#include "evaluate_api.hpp"
#include "event_sender.hpp"
#include "feed_follower.hpp"
#include "miss_fetcher.hpp"
#include "shared_cache.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/metrics.hpp"
#include "toggle/core/redis.hpp"
#include "toggle/core/service.hpp"

int main() {
  using namespace toggle;
  using namespace toggle::evaluation;
  return guarded_main([] {
    Service svc("evaluation-service", 8004);
    Env& env = svc.env();
    std::string flag_url = env.url("FLAG_SERVICE_URL", "http://localhost:8002");
    std::string targeting_url = env.url("TARGETING_SERVICE_URL", "http://localhost:8003");
    std::string analytics_url = env.url("ANALYTICS_SERVICE_URL", "http://localhost:8005");
    std::string auth_url = env.url("AUTH_SERVICE_URL", "http://localhost:8001");
    std::string service_key = env.required("SERVICE_API_KEY", "tm_key_service_internal_dev");
    bool require_key = env.boolean("EVALUATE_REQUIRE_KEY", false);
    SenderOptions events_opt{analytics_url, service_key, svc.data_dir() + "/evaluation-spool"};
    events_opt.capacity = static_cast<std::size_t>(env.integer("EVENT_BUFFER_CAPACITY", 100000, 1000, 10000000));
    events_opt.batch_size = static_cast<std::size_t>(env.integer("EVENT_BATCH_SIZE", 1000, 1, 5000));
    events_opt.flush_interval = env.millis("EVENT_FLUSH_INTERVAL_MS", 100, 10, 60000);
    events_opt.spool_max_bytes =
        static_cast<std::uint64_t>(env.integer("EVENT_SPOOL_MAX_BYTES", 1ll << 30, 1 << 20, 1ll << 40));
    FeedOptions feed_opt;
    feed_opt.wait = env.millis("SYNC_WAIT_MS", 25000, 100, 60000);
    feed_opt.full_resync = env.millis("SYNC_FULL_RESYNC_MS", 300000, 1000, 86400000);
    auto remember = env.millis("MISS_CACHE_MS", 1000, 0, 60000);
    std::string redis_url = env.str("REDIS_URL", "");
    auto redis = parse_redis_url(redis_url);
    if (!redis_url.empty() && !redis)
      env.fail("REDIS_URL=" + redis_url + " is not redis://[:password@]host[:port][/db]");
    env.exit_if_invalid("evaluation-service");

    Catalog catalog;
    auto flags_gauge = metrics().gauge("evaluation_flags_loaded", "Flags in the in-memory snapshot",
                                       [&catalog] { return double(catalog.size()); });
    std::unique_ptr<SharedCache> shared;
    if (redis) shared = std::make_unique<SharedCache>(*redis);
    auto share = [&shared](const char* feed) {
      return [&shared, feed](const FeedPosition& base, const json& reply) {
        if (shared) shared->share(feed, base, reply);
      };
    };
    FeedFollower flags(
        {"flag-service", flag_url, service_key, feed_opt.wait, feed_opt.full_resync},
        [&catalog](const json& reply) { catalog.apply_flag_changes(reply); }, share("flags"));
    FeedFollower rules(
        {"targeting-service", targeting_url, service_key, feed_opt.wait, feed_opt.full_resync},
        [&catalog](const json& reply) { catalog.apply_rule_changes(reply); }, share("rules"));
    if (shared) {
      // Warm start: the state another replica stored, before the change feeds answer.
      for (auto [name, follower] : {std::pair{"flags", &flags}, std::pair{"rules", &rules}})
        if (auto state = shared->load(name)) follower->accept({}, *state);
      if (catalog.complete()) log::info("warmed from redis", {{"flags", catalog.size()}});
      auto full_state = [](FeedFollower& f, const char* key, std::function<json()> items) {
        return [&f, key, items] {
          FeedPosition at = f.position();  // before the items: the state is at least this new
          return json{
              {"epoch", at.epoch}, {"version", at.version}, {"full", true}, {key, items()}, {"deleted", json::array()}};
        };
      };
      shared->start({{"flags", full_state(flags, "flags", [&catalog] { return catalog.export_flags(); })},
                     {"rules", full_state(rules, "rules", [&catalog] { return catalog.export_rules(); })}},
                    [&flags, &rules](const std::string& feed, const FeedPosition& base, const json& reply) {
                      (feed == "flags" ? flags : rules).accept(base, reply);
                    });
      svc.on_stop([&shared] { shared->stop(); });
    }
    MissFetcher fetcher({flag_url, targeting_url, service_key, remember});
    EventSender events(events_opt);
    std::unique_ptr<KeyValidator> keys;
    if (require_key) keys = std::make_unique<KeyValidator>(auth_url);
    EvaluateApi api(catalog, fetcher, events, keys.get());
    api.add_routes(svc.router());

    svc.add_readiness_check([&catalog] {
      return catalog.complete() ? "" : "flags and rules not loaded yet from flag-service and targeting-service";
    });
    events.start();
    flags.start();
    rules.start();
    auto flush_deadline = env.millis("EVENT_FLUSH_ON_STOP_MS", 5000, 0, 60000);
    svc.on_stop([&events, flush_deadline] { events.stop(flush_deadline); });
    svc.on_stop([&flags, &rules] {
      flags.stop();
      rules.stop();
    });
    return svc.run();
  });
}
