// ServiceBusSender: batches go to the container's thread, out on the queue's link as credit
// allows (unsettled, at least once), and each message's outcome comes back to the waiting caller.
#include <proton/condition.h>
#include <proton/delivery.h>
#include <proton/disposition.h>

#include <algorithm>
#include <deque>
#include <map>
#include <proton/codec/encoder.hpp>
#include <proton/sender_options.hpp>

#include "servicebus_connection.hpp"

namespace toggle::cloud {

namespace {

// The outcome of one batch, filled by the container's thread, read by the caller.
struct Batch {
  explicit Batch(std::size_t size) : settled(size, false), remaining(size) {}
  std::mutex mutex;
  std::condition_variable done;
  std::vector<bool> settled;
  std::vector<SendFailure> failures;
  std::size_t remaining;
  bool abandoned = false;  // the caller gave up waiting: what is not sent yet is not sent

  void settle(std::size_t index, const SendFailure* failure) {
    std::lock_guard lock(mutex);
    if (abandoned || settled[index]) return;
    settled[index] = true;
    if (failure) failures.push_back(*failure);
    if (--remaining == 0) done.notify_all();
  }
  bool given_up() {
    std::lock_guard lock(mutex);
    return abandoned;
  }
};

struct Pending {
  std::shared_ptr<Batch> batch;
  std::size_t index = 0;
  proton::message message;
};

// The remote outcome's error condition, e.g. "amqp:link:message-size-exceeded: ...".
std::pair<std::string, std::string> remote_condition(const proton::tracker& tracker) {
  pn_condition_t* condition = pn_disposition_condition(pn_delivery_remote(servicebus_detail::raw_delivery(tracker)));
  const char* name = condition ? pn_condition_get_name(condition) : nullptr;
  const char* description = condition ? pn_condition_get_description(condition) : nullptr;
  return {name ? name : "", description ? description : ""};
}

}  // namespace

class ServiceBusSender::Impl : public servicebus_detail::LinkUser {
 public:
  Impl(const ServiceBusConnectionString& cs, const std::string& address, ServiceBusOptions options)
      : connection_(cs, address, options, "sender", *this) {}
  ~Impl() override { connection_.shutdown(); }

  SendResult send(const std::vector<OutgoingMessage>& batch, std::chrono::milliseconds timeout) {
    SendResult result;
    if (batch.empty()) return result;
    auto status = connection_.status();
    if (!status.ready && !status.last_error.empty()) {
      // Down (reconnecting in the background): say so now rather than after `timeout`.
      for (std::size_t i = 0; i < batch.size(); ++i) {
        result.failures.push_back({i, status.last_error_kind, "Service Bus is not connected: " + status.last_error});
      }
      return result;
    }
    auto state = std::make_shared<Batch>(batch.size());
    auto messages = std::make_shared<std::vector<proton::message>>();
    for (const auto& item : batch) {
      proton::message m;
      if (!item.message_id.empty()) m.id(item.message_id);
      m.content_type("application/json");
      m.durable(true);
      m.body(proton::binary(item.body));
      m.inferred(true);  // a binary body travels as a data section, as the Azure SDKs send it
      messages->push_back(std::move(m));
    }
    bool posted = connection_.post([this, state, messages] {
      for (std::size_t i = 0; i < messages->size(); ++i) queue_.push_back({state, i, std::move((*messages)[i])});
      pump();
    });
    std::unique_lock lock(state->mutex);
    if (!posted) {
      state->abandoned = true;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        result.failures.push_back({i, ServiceBusErrorKind::closed, "the Service Bus sender is closed"});
      }
      return result;
    }
    state->done.wait_for(lock, timeout, [&] { return state->remaining == 0; });
    result.failures = state->failures;
    if (state->remaining > 0) {
      state->abandoned = true;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!state->settled[i]) {
          result.failures.push_back({i, ServiceBusErrorKind::timeout,
                                     "Service Bus did not confirm the message within " +
                                         std::to_string(timeout.count()) + " ms (it may still be stored)"});
        }
      }
    }
    std::sort(result.failures.begin(), result.failures.end(),
              [](const SendFailure& a, const SendFailure& b) { return a.index < b.index; });
    return result;
  }

  void wait_ready(std::chrono::milliseconds timeout) { connection_.wait_ready(timeout); }
  ServiceBusStatus status() const { return connection_.status(); }

 private:
  // --- the container's thread ---
  proton::link attach(proton::connection& connection, const std::string& address) override {
    proton::sender_options options;
    options.delivery_mode(proton::delivery_mode::AT_LEAST_ONCE).auto_settle(true);
    sender_ = connection.open_sender(address, options);
    return sender_;
  }

  void opened() override { pump(); }
  void on_sendable(proton::sender&) override { pump(); }

  void pump() {
    while (sender_ && sender_.active() && sender_.credit() > 0 && !queue_.empty()) {
      Pending pending = std::move(queue_.front());
      queue_.pop_front();
      if (pending.batch->given_up()) continue;
      proton::tracker tracker = sender_.send(pending.message);
      pending.message = proton::message();
      in_flight_.emplace(tracker, std::move(pending));
    }
  }

  void finish(proton::tracker& tracker, const SendFailure* failure) {
    auto it = in_flight_.find(tracker);
    if (it == in_flight_.end()) return;
    if (failure) {
      SendFailure f = *failure;
      f.index = it->second.index;
      it->second.batch->settle(it->second.index, &f);
    } else {
      it->second.batch->settle(it->second.index, nullptr);
    }
    in_flight_.erase(it);
  }

  void on_tracker_accept(proton::tracker& t) override { finish(t, nullptr); }

  void on_tracker_reject(proton::tracker& t) override {
    auto [name, description] = remote_condition(t);
    ServiceBusErrorKind kind = ServiceBusErrorKind::rejected;
    if (name == "com.microsoft:server-busy" || name == "amqp:resource-limit-exceeded") kind = ServiceBusErrorKind::busy;
    SendFailure failure{0, kind,
                        "Service Bus rejected the message: " + (name.empty() ? "no reason given" : name) +
                            (description.empty() ? "" : ": " + description)};
    finish(t, &failure);
  }

  void on_tracker_release(proton::tracker& t) override {
    SendFailure failure{0, ServiceBusErrorKind::busy, "the broker released the message (not stored); try again"};
    finish(t, &failure);
  }

  void on_tracker_settle(proton::tracker& t) override {
    SendFailure failure{0, ServiceBusErrorKind::protocol, "the broker settled the message without an outcome"};
    finish(t, &failure);  // no-op when an outcome came first
  }

  void lost(ServiceBusErrorKind kind, const std::string& why) override {
    sender_ = proton::sender();
    // Sent but not confirmed: the broker may or may not have stored them.
    for (auto& [tracker, pending] : in_flight_) {
      SendFailure failure{pending.index, kind == ServiceBusErrorKind::closed ? kind : ServiceBusErrorKind::unreachable,
                          "the connection was lost before Service Bus confirmed the message (it may have been "
                          "stored): " +
                              why};
      pending.batch->settle(pending.index, &failure);
    }
    in_flight_.clear();
    // Not sent yet: they go on the next connection, unless this is the end.
    if (kind == ServiceBusErrorKind::closed) {
      for (auto& pending : queue_) {
        SendFailure failure{pending.index, kind, why};
        pending.batch->settle(pending.index, &failure);
      }
      queue_.clear();
    }
  }

  proton::sender sender_;
  std::deque<Pending> queue_;
  std::map<proton::tracker, Pending> in_flight_;
  servicebus_detail::Connection connection_;  // last: destroyed (and its thread stopped) first
};

ServiceBusSender::ServiceBusSender(const ServiceBusConnectionString& connection, const std::string& queue,
                                   ServiceBusOptions options)
    : impl_(std::make_unique<Impl>(connection, servicebus_detail::queue_address(connection, queue), options)) {}
ServiceBusSender::~ServiceBusSender() = default;

void ServiceBusSender::wait_ready(std::chrono::milliseconds timeout) { impl_->wait_ready(timeout); }
SendResult ServiceBusSender::send(const std::vector<OutgoingMessage>& batch, std::chrono::milliseconds timeout) {
  return impl_->send(batch, timeout);
}
ServiceBusStatus ServiceBusSender::status() const { return impl_->status(); }

}  // namespace toggle::cloud
