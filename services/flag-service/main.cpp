// flag-service: flag definitions and the kill switch (port 8002).
#include "api.hpp"
#include "flag_store.hpp"
#include "toggle/core/changelog.hpp"
#include "toggle/core/service.hpp"

int main() {
  using namespace toggle;
  return guarded_main([] {
    Service svc("flag-service", 8002);
    std::string auth_url = svc.env().url("AUTH_SERVICE_URL", "http://localhost:8001");
    std::string database_url = svc.database_url();
    sql::Options database_options = svc.database_options();
    svc.env().exit_if_invalid("flag-service");

    auto db = sql::open_database(database_url, svc.data_dir() + "/flags.db", database_options);
    flags::FlagStore store(*db);
    KeyValidator keys(auth_url);
    flags::Api api(store, keys);
    api.add_routes(svc.router());
    // Replicas on one PostgreSQL database: a write through any of them wakes every replica's
    // long polls (LISTEN/NOTIFY).
    std::unique_ptr<changelog::ReplicaSync> replicas;
    if (db->dialect() == sql::Dialect::postgres)
      replicas = std::make_unique<changelog::ReplicaSync>(database_url, flags::FlagStore::changes_scope(), api.feed(),
                                                          [&store] { return store.version(); });
    svc.add_readiness_check([&store] { return store.ping() ? "" : "database unreachable"; });
    svc.add_readiness_check(http_health_check("auth-service", auth_url));
    svc.on_drain([&api] { api.feed().close(); });
    return svc.run();
  });
}
