// analytics-service: evaluation events, stored once each, and queries over them (port 8005).
#include "api.hpp"
#include "event_store.hpp"
#include "toggle/core/service.hpp"

int main() {
  using namespace toggle;
  return guarded_main([] {
    Service svc("analytics-service", 8005);
    std::string auth_url = svc.env().url("AUTH_SERVICE_URL", "http://localhost:8001");
    std::string service_key = svc.env().required("SERVICE_API_KEY", "tm_key_service_internal_dev");
    std::string database_url = svc.database_url();
    svc.env().exit_if_invalid("analytics-service");

    auto db = sql::open_database(database_url, svc.data_dir() + "/analytics.db");
    analytics::EventStore store(*db);
    KeyValidator keys(auth_url);
    analytics::add_routes(svc.router(), store, keys, service_key);
    svc.add_readiness_check([&store] { return store.ping() ? "" : "database unreachable"; });
    return svc.run();
  });
}
