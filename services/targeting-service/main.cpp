// targeting-service: targeting rules per flag (port 8003).
#include "api.hpp"
#include "rule_store.hpp"
#include "toggle/core/service.hpp"

int main() {
  using namespace toggle;
  return guarded_main([] {
    Service svc("targeting-service", 8003);
    std::string auth_url = svc.env().url("AUTH_SERVICE_URL", "http://localhost:8001");
    std::string database_url = svc.database_url();
    svc.env().exit_if_invalid("targeting-service");

    auto db = sql::open_database(database_url, svc.data_dir() + "/targeting.db");
    targeting::RuleStore store(*db);
    KeyValidator keys(auth_url);
    targeting::Api api(store, keys);
    api.add_routes(svc.router());
    svc.add_readiness_check([&store] { return store.ping() ? "" : "database unreachable"; });
    svc.add_readiness_check(http_health_check("auth-service", auth_url));
    svc.on_drain([&api] { api.feed().close(); });
    return svc.run();
  });
}
