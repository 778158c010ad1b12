#include "app.hpp"

#include <sched.h>

#include "sql_event_store.hpp"
#include "toggle/core/checks.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/metrics.hpp"
#include "toggle/core/text.hpp"

namespace toggle::analytics {
namespace {

// Analytics is background work: storing events can wait, an evaluation cannot. At idle priority
// (SCHED_IDLE, inherited by every thread started after this) the kernel runs this process only
// when the CPU has nothing else to do, so on a machine shared with evaluation-service it never
// delays an evaluation; under overload, events wait in evaluation's spool instead.
void run_at_idle_priority() {
  sched_param param{};
  if (sched_setscheduler(0, SCHED_IDLE, &param) != 0)
    log::warn("cannot lower the CPU priority; running at normal priority");
}

json to_json(const Event& e) {
  json j = {{"event_id", e.event_id},
            {"user_id", e.user_id},
            {"flag_name", e.flag_name},
            {"result", e.result},
            {"timestamp", e.timestamp}};
  if (!e.variant.empty()) j["variant"] = e.variant;
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j;
}

std::size_t read_limit(const Request& req) {
  auto text = req.query("limit");
  if (!text) return 100;
  auto limit = parse_bounded_int(*text, 1, 10000);
  if (!limit) throw Error::invalid("invalid_parameter", "limit must be an integer between 1 and 10000");
  return static_cast<std::size_t>(*limit);
}

std::optional<std::string> read_flag_name(const Request& req) {
  auto name = req.query("flag_name");
  if (!name) return std::nullopt;
  return checked_flag_name(std::move(*name));
}

}  // namespace

AnalyticsService::Config AnalyticsService::Config::from_env(Env& env, const ServiceSettings& service) {
  Config c{auth_service_url(env), service_api_key(env), DatabaseSettings::from_env(env, service, "analytics.db"),
           env.boolean("ANALYTICS_IDLE_PRIORITY", true)};
  // An event is acknowledged only once it would survive a power loss.
  c.database.options.durable_commits = true;
  c.pipeline = cloud::PipelineSettings::from_env(env, cloud::PipelineRole::consumer);
  if (!c.pipeline.direct()) {
    if (!c.database.url.empty())
      log::warn("DATABASE_URL is not used: with CLOUD_PROVIDER set, events are stored in the cloud store");
    c.consumer.receivers = static_cast<unsigned>(env.integer("ANALYTICS_QUEUE_RECEIVERS", 8, 1, 256));
    c.consumer.storers = static_cast<unsigned>(env.integer("ANALYTICS_STORE_THREADS", 2, 1, 64));
    c.consumer.wait = env.millis("ANALYTICS_RECEIVE_WAIT_MS", 20000, 0, 20000);
  }
  return c;
}

AnalyticsService::AnalyticsService(const Config& config) : keys_(config.auth_url, config.service_key) {
  if (config.idle_priority) run_at_idle_priority();  // first: threads started later inherit it
  log::info("event pipeline", {{"pipeline", config.pipeline.describe()}});
  if (config.pipeline.direct()) {
    db_ = config.database.open();
    store_ = std::make_unique<SqlEventStore>(*db_);
  } else {
    store_ = cloud::make_event_store(config.pipeline);
    queue_ = cloud::make_event_queue(config.pipeline);
  }
  add_routes();
  add_readiness_check([this] { return store_->readiness(); });
  if (queue_) {
    add_readiness_check([this] { return queue_->readiness(); });
    consumer_ = std::make_unique<EventConsumer>(*queue_, *store_, config.consumer);
    consumer_->start();
    // SIGTERM: no more polls at once; after the HTTP server stops, what was received is stored
    // and acknowledged, then the threads end.
    on_drain([this] { consumer_->stop_receiving(); });
    on_stop([this] { consumer_->stop(); });
  }
}

AnalyticsService::~AnalyticsService() {
  if (consumer_) consumer_->stop();  // before the queue and the store it uses
}

void AnalyticsService::add_routes() {
  static Counter& stored_total = metrics().counter("analytics_events_stored_total", "Events stored (new)");
  static Counter& duplicate_total = metrics().counter("analytics_events_duplicate_total", "Events received again");

  router().post("/events",
                with_api_key(keys_, Scope::events,
                             [this](Request& req) -> Reply {
                               std::vector<Event> events = parse_event_batch(req.body);
                               std::size_t stored = store_->store(events);
                               stored_total.inc(stored);
                               duplicate_total.inc(events.size() - stored);
                               return json_response(200, {{"stored", stored}, {"duplicates", events.size() - stored}});
                             }),
                key_checked_before_body(keys_, Scope::events, {.blocking = true, .body_limit = kMaxBatchBytes}));

  router().get("/events", with_api_key(keys_, Scope::read, [this](Request& req) -> Reply {
                 auto flag = read_flag_name(req);
                 std::size_t limit = read_limit(req);
                 json list = json::array();
                 for (const auto& e : store_->recent(flag, limit)) list.push_back(to_json(e));
                 return json_response(200, list);
               }));

  router().get("/summary", with_api_key(keys_, Scope::read, [this](Request& req) -> Reply {
                 auto flag = read_flag_name(req);
                 if (!flag) throw Error::invalid("missing_parameter", "flag_name is a required query parameter");
                 auto s = store_->summary(*flag);
                 return json_response(200, {{"flag_name", *flag},
                                            {"total", s.true_count + s.false_count},
                                            {"true", s.true_count},
                                            {"false", s.false_count},
                                            {"variants", s.variants},
                                            {"reasons", s.reasons}});
               }));
}

}  // namespace toggle::analytics
