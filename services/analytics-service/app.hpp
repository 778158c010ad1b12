// analytics-service (port 8005): stores every evaluation event once and answers queries on them.
//   POST /events                   (events) store a batch [{event_id,user_id,flag_name,result,timestamp}]
//   GET  /events?flag_name=&limit= (read)   newest first, limit 1-10000 (default 100)
//   GET  /summary?flag_name=       (read)   {"flag_name","total","true","false"}
#pragma once

#include <memory>
#include <string>

#include "toggle/core/app.hpp"
#include "toggle/core/auth.hpp"
#include "toggle/core/event_transport.hpp"
#include "toggle/core/service.hpp"

namespace toggle::analytics {

class AnalyticsService : public App {
 public:
  struct Config {
    std::string auth_url, service_key;
    DatabaseSettings database;
    // Run at idle CPU priority (SCHED_IDLE): storing events can wait, an evaluation cannot.
    bool idle_priority = true;
    static Config from_env(Env& env, const ServiceSettings& service);
  };

  explicit AnalyticsService(const Config& config);
  ~AnalyticsService() override;
  EventStore& store() { return *store_; }

 private:
  void add_routes();

  std::unique_ptr<sql::Database> db_;
  std::unique_ptr<EventStore> store_;
  KeyValidator keys_;
};

}  // namespace toggle::analytics
