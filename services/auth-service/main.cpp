// auth-service: issues, lists, revokes and validates API keys (port 8001).
#include "api.hpp"
#include "key_store.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/log.hpp"
#include "toggle/core/service.hpp"

int main() {
  using namespace toggle;
  return guarded_main([] {
    Service svc("auth-service", 8001);
    std::string master_key = svc.env().required("MASTER_KEY", "master-key-local-dev");
    std::string service_key = svc.env().str("SERVICE_API_KEY", "tm_key_service_internal_dev");
    std::string database_url = svc.database_url();
    sql::Options database_options = svc.database_options();
    svc.env().exit_if_invalid("auth-service");
    if (master_key == "master-key-local-dev")
      log::warn("MASTER_KEY is the development default: set your own in production");

    auto db = sql::open_database(database_url, svc.data_dir() + "/auth.db", database_options);
    auth::KeyStore store(*db);
    // The other services authenticate with SERVICE_API_KEY: register its hash so that it works
    // without a manual bootstrap step (the original needed one after every database wipe).
    if (!service_key.empty() && !store.ensure("service", crypto::sha256_hex(service_key)))
      log::warn("SERVICE_API_KEY has been revoked: the services using it will be refused");

    auth::add_routes(svc.router(), store, {master_key});
    svc.add_readiness_check([&store] { return store.ping() ? "" : "database unreachable"; });
    return svc.run();
  });
}
