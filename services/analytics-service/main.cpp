// analytics-service: evaluation events, stored once each, and queries over them (port 8005).
#include <sched.h>

#include "api.hpp"
#include "event_store.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/service.hpp"

// Analytics is background work: storing events can wait, an evaluation cannot. At idle priority
// (SCHED_IDLE, inherited by every thread started after this) the kernel runs this process only
// when the CPU has nothing else to do, so on a machine shared with evaluation-service it never
// delays an evaluation; under overload, events wait in evaluation's spool instead.
void run_at_idle_priority() {
  sched_param param{};
  if (sched_setscheduler(0, SCHED_IDLE, &param) != 0)
    toggle::log::warn("cannot lower the CPU priority; running at normal priority");
}

int main() {
  using namespace toggle;
  return guarded_main([] {
    Service svc("analytics-service", 8005);
    std::string auth_url = svc.env().url("AUTH_SERVICE_URL", "http://localhost:8001");
    std::string service_key = svc.env().required("SERVICE_API_KEY", "tm_key_service_internal_dev");
    std::string database_url = svc.database_url();
    sql::Options database_options = svc.database_options();
    bool idle_priority = svc.env().boolean("ANALYTICS_IDLE_PRIORITY", true);
    svc.env().exit_if_invalid("analytics-service");
    if (idle_priority) run_at_idle_priority();

    auto db = sql::open_database(database_url, svc.data_dir() + "/analytics.db", database_options);
    analytics::EventStore store(*db);
    KeyValidator keys(auth_url);
    analytics::add_routes(svc.router(), store, keys, service_key);
    svc.add_readiness_check([&store] { return store.ping() ? "" : "database unreachable"; });
    return svc.run();
  });
}
