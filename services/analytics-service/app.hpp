// analytics-service (port 8005): stores every evaluation event once and answers queries on them.
// The events arrive by POST /events (the direct pipeline, CLOUD_PROVIDER unset: stored in SQL) or
// from a queue (CLOUD_PROVIDER=aws: SQS, stored in DynamoDB, see event_consumer.hpp).
//   POST /events                   (events) store a batch [{event_id,user_id,flag_name,result,timestamp}]
//   GET  /events?flag_name=&limit= (read)   newest first, limit 1-10000 (default 100)
//   GET  /summary?flag_name=       (read)   {"flag_name","total","true","false"}
#pragma once

#include <memory>
#include <string>

#include "event_consumer.hpp"
#include "toggle/cloud/pipeline.hpp"
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
    cloud::PipelineSettings pipeline;  // CLOUD_PROVIDER, AWS_*
    ConsumerOptions consumer;          // ANALYTICS_QUEUE_RECEIVERS, ANALYTICS_STORE_THREADS, ANALYTICS_RECEIVE_WAIT_MS
    static Config from_env(Env& env, const ServiceSettings& service);
  };

  explicit AnalyticsService(const Config& config);
  ~AnalyticsService() override;
  EventStore& store() { return *store_; }

 private:
  void add_routes();

  std::unique_ptr<sql::Database> db_;      // the direct pipeline's
  std::unique_ptr<EventStore> store_;
  std::unique_ptr<EventQueue> queue_;      // a cloud pipeline's
  std::unique_ptr<EventConsumer> consumer_;
  KeyValidator keys_;
};

}  // namespace toggle::analytics
