// The embedded default transport: batches posted straight to analytics-service's POST /events
// with the service key (CLOUD_PROVIDER unset).
#pragma once

#include <string>

#include "toggle/core/client.hpp"
#include "toggle/core/event_transport.hpp"

namespace toggle::evaluation {

class HttpEventPublisher final : public EventPublisher {
 public:
  HttpEventPublisher(std::string analytics_url, std::string service_key);
  Outcome publish(const std::vector<Event>& batch, std::chrono::milliseconds timeout) override;
  std::string name() const override { return "analytics-service"; }

 private:
  std::string url_, key_;
  HttpClient client_;
};

}  // namespace toggle::evaluation
