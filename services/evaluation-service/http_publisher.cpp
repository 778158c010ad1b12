#include "http_publisher.hpp"

#include "toggle/core/log.hpp"

namespace toggle::evaluation {

HttpEventPublisher::HttpEventPublisher(std::string analytics_url, std::string service_key)
    : url_(std::move(analytics_url) + "/events"), key_(std::move(service_key)) {}

EventPublisher::Outcome HttpEventPublisher::publish(const std::vector<Event>& batch,
                                                    std::chrono::milliseconds timeout) {
  auto res = client_.send({"POST", url_, {{"Authorization", "Bearer " + key_}}, to_json_array(batch), timeout});
  if (res.status == 200) return Outcome::delivered;
  if (res.status == 400 || res.status == 413 || res.status == 422) {
    // Retrying cannot help; keep the evidence in the log rather than loop forever.
    log::error("analytics-service rejected an event batch",
               {{"status", res.status}, {"reply", res.body}, {"events", batch.size()}});
    return Outcome::rejected;
  }
  // 502/503/504: analytics (or its store) is away and will be back; other 5xx are its own error
  // with this batch, which may recur.
  if (res.status >= 500 && res.status != 502 && res.status != 503 && res.status != 504) {
    log::error("analytics-service failed on an event batch",
               {{"status", res.status}, {"reply", res.body.substr(0, 500)}, {"events", batch.size()}});
    return Outcome::refused;
  }
  return Outcome::failed;
}

}  // namespace toggle::evaluation
