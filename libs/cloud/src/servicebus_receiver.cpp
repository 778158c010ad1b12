// ServiceBusReceiver: a peek-lock receiver. The link gets exactly the credit callers ask for;
// deliveries stay unsettled (locked) in the container's thread, keyed by a number the caller
// gets back in ReceivedMessage::lock, until complete / abandon / dead_letter settles them.
#include <proton/codec.h>
#include <proton/condition.h>
#include <proton/delivery.h>
#include <proton/disposition.h>

#include <deque>
#include <future>
#include <map>
#include <proton/receiver_options.hpp>
#include <proton/source.hpp>

#include "servicebus_connection.hpp"

namespace toggle::cloud {

namespace {

// abandon_release: an abandon for a local broker. RabbitMQ's AMQP 1.0 plugin (3.10) knows only
// accepted, rejected and released, and ignores modified, leaving the message locked.
enum class Outcome { complete, abandon, abandon_release, dead_letter };

std::string text_of(const proton::message_id& id) {
  if (id.empty()) return "";
  return id.type() == proton::STRING ? proton::get<std::string>(id) : proton::to_string(id);
}

ReceivedMessage to_received(proton::message& m) {
  ReceivedMessage r;
  r.message_id = text_of(m.id());
  const proton::value& body = m.body();
  switch (body.type()) {
    case proton::BINARY: {
      auto bytes = proton::get<proton::binary>(body);
      r.body.assign(bytes.begin(), bytes.end());
      break;
    }
    case proton::STRING:
      r.body = proton::get<std::string>(body);
      break;
    case proton::NULL_TYPE:
      break;
    default:  // not what our senders send: the caller will find it unreadable and dead-letter it
      r.body = proton::to_string(body);
  }
  r.content_type = m.content_type();
  r.delivery_count = m.delivery_count();
  if (m.properties().exists("DeadLetterReason")) {
    try {
      r.dead_letter_reason = proton::coerce<std::string>(m.properties().get("DeadLetterReason"));
    } catch (const std::exception&) {
    }
  }
  return r;
}

void put_symbol(pn_data_t* data, const std::string& text) {
  pn_data_put_symbol(data, pn_bytes(text.size(), text.data()));
}
void put_string(pn_data_t* data, const std::string& text) {
  pn_data_put_string(data, pn_bytes(text.size(), text.data()));
}

// Settles a delivery with an outcome, including what Proton C++ cannot say: modified with
// delivery-failed (so the delivery count rises), and a rejection carrying Service Bus's
// dead-letter condition with DeadLetterReason / DeadLetterErrorDescription in its info.
void apply_outcome(proton::delivery& delivery, Outcome outcome, const std::string& reason,
                   const std::string& description) {
  pn_delivery_t* d = servicebus_detail::raw_delivery(delivery);
  pn_disposition_t* local = pn_delivery_local(d);
  switch (outcome) {
    case Outcome::complete:
      pn_delivery_update(d, PN_ACCEPTED);
      break;
    case Outcome::abandon:
      pn_disposition_set_failed(local, true);
      pn_delivery_update(d, PN_MODIFIED);
      break;
    case Outcome::abandon_release:
      pn_delivery_update(d, PN_RELEASED);
      break;
    case Outcome::dead_letter: {
      pn_condition_t* condition = pn_disposition_condition(local);
      pn_condition_set_name(condition, "com.microsoft:dead-letter");
      pn_condition_set_description(condition, description.empty() ? reason.c_str() : description.c_str());
      pn_data_t* info = pn_condition_info(condition);
      pn_data_clear(info);
      pn_data_put_map(info);
      pn_data_enter(info);
      put_symbol(info, "DeadLetterReason");
      put_string(info, reason);
      put_symbol(info, "DeadLetterErrorDescription");
      put_string(info, description);
      pn_data_exit(info);
      pn_delivery_update(d, PN_REJECTED);
      break;
    }
  }
  pn_delivery_settle(d);
}

}  // namespace

class ServiceBusReceiver::Impl : public servicebus_detail::LinkUser {
 public:
  Impl(const ServiceBusConnectionString& cs, const std::string& address, ServiceBusOptions options)
      : abandon_(cs.development_emulator ? Outcome::abandon_release : Outcome::abandon),
        connection_(cs, address, options, "receiver", *this) {}

  const Outcome abandon_;
  ~Impl() override { connection_.shutdown(); }

  std::vector<ReceivedMessage> receive(std::size_t max, std::chrono::milliseconds wait) {
    std::vector<ReceivedMessage> out;
    if (max == 0 || interrupted()) return out;
    if (!connection_.post([this, max] {
          wanted_ = max;
          top_up();
        })) {
      throw ServiceBusError(ServiceBusErrorKind::closed, "the Service Bus receiver is closed");
    }
    {
      std::unique_lock lock(mutex_);
      // Back as soon as something came, as an SQS long poll: waiting for `max` of them would hold
      // a lone event for the whole wait (20 s by default in analytics-service).
      arrived_.wait_for(lock, wait, [&] { return interrupted_ || !buffer_.empty(); });
      if (interrupted_) return out;  // what is buffered stays locked until the receiver closes
      while (!buffer_.empty() && out.size() < max) {
        out.push_back(std::move(buffer_.front()));
        buffer_.pop_front();
      }
    }
    if (out.empty()) {
      auto status = connection_.status();
      if (!status.ready && !status.last_error.empty()) {
        throw ServiceBusError(status.last_error_kind, "Service Bus is not connected: " + status.last_error);
      }
    }
    return out;
  }

  void settle(const ReceivedMessage& message, Outcome outcome, const std::string& reason = "",
              const std::string& description = "") {
    auto done = std::make_shared<std::promise<bool>>();
    auto settled = done->get_future();
    bool posted = connection_.post([this, lock = message.lock, outcome, reason, description, done] {
      auto it = unsettled_.find(lock);
      if (it == unsettled_.end()) {
        done->set_value(false);
        return;
      }
      apply_outcome(it->second, outcome, reason, description);
      unsettled_.erase(it);
      done->set_value(true);
    });
    if (!posted) throw ServiceBusError(ServiceBusErrorKind::closed, "the Service Bus receiver is closed");
    if (settled.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      throw ServiceBusError(ServiceBusErrorKind::timeout, "settling message " + message.message_id + " timed out");
    }
    if (!settled.get()) {
      throw ServiceBusError(ServiceBusErrorKind::lock_lost,
                            "the lock on message " + message.message_id +
                                " is lost (its connection dropped): Service Bus will deliver it again");
    }
  }

  void wait_ready(std::chrono::milliseconds timeout) { connection_.wait_ready(timeout); }
  ServiceBusStatus status() const { return connection_.status(); }

  void interrupt() {
    {
      std::lock_guard lock(mutex_);
      interrupted_ = true;
    }
    arrived_.notify_all();
  }

 private:
  bool interrupted() {
    std::lock_guard lock(mutex_);
    return interrupted_;
  }

  // --- the container's thread ---
  proton::link attach(proton::connection& connection, const std::string& address) override {
    proton::receiver_options options;
    // Peek-lock: the broker waits for our outcome; credit only as callers ask.
    options.delivery_mode(proton::delivery_mode::AT_LEAST_ONCE).auto_accept(false).credit_window(0);
    receiver_ = connection.open_receiver(address, options);
    return receiver_;
  }

  void opened() override { top_up(); }

  // Credit so that buffered + on their way = what the last receive() asked for.
  void top_up() {
    if (!receiver_ || !receiver_.active()) return;
    std::size_t buffered;
    {
      std::lock_guard lock(mutex_);
      buffered = buffer_.size();
    }
    std::size_t have = buffered + static_cast<std::size_t>(std::max(0, receiver_.credit()));
    if (have < wanted_) receiver_.add_credit(static_cast<std::uint32_t>(wanted_ - have));
  }

  void on_message(proton::delivery& delivery, proton::message& message) override {
    ReceivedMessage received = to_received(message);
    received.lock = ++next_lock_;
    unsettled_.emplace(received.lock, delivery);
    {
      std::lock_guard lock(mutex_);
      buffer_.push_back(std::move(received));
    }
    arrived_.notify_all();
  }

  void lost(ServiceBusErrorKind, const std::string&) override {
    // The broker takes back what this link held: settling those later is lock_lost, and what
    // no caller has taken yet is dropped (it will be delivered again).
    receiver_ = proton::receiver();
    unsettled_.clear();
    {
      std::lock_guard lock(mutex_);
      buffer_.clear();
    }
    arrived_.notify_all();
  }

  // The container's thread only.
  proton::receiver receiver_;
  std::map<std::uint64_t, proton::delivery> unsettled_;
  std::uint64_t next_lock_ = 0;
  std::size_t wanted_ = 0;

  // Shared with callers.
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::deque<ReceivedMessage> buffer_;
  bool interrupted_ = false;  // interrupt(): receive() returns at once, now and later

  servicebus_detail::Connection connection_;  // last: destroyed (and its thread stopped) first
};

ServiceBusReceiver::ServiceBusReceiver(const ServiceBusConnectionString& connection, const std::string& queue,
                                       ServiceBusOptions options)
    : impl_(std::make_unique<Impl>(connection, servicebus_detail::queue_address(connection, queue), options)) {}
ServiceBusReceiver::~ServiceBusReceiver() = default;

void ServiceBusReceiver::wait_ready(std::chrono::milliseconds timeout) { impl_->wait_ready(timeout); }
std::vector<ReceivedMessage> ServiceBusReceiver::receive(std::size_t max, std::chrono::milliseconds wait) {
  return impl_->receive(max, wait);
}
void ServiceBusReceiver::complete(const ReceivedMessage& message) { impl_->settle(message, Outcome::complete); }
void ServiceBusReceiver::abandon(const ReceivedMessage& message) { impl_->settle(message, impl_->abandon_); }
void ServiceBusReceiver::dead_letter(const ReceivedMessage& message, const std::string& reason,
                                     const std::string& description) {
  impl_->settle(message, Outcome::dead_letter, reason, description);
}
ServiceBusStatus ServiceBusReceiver::status() const { return impl_->status(); }
void ServiceBusReceiver::interrupt() { impl_->interrupt(); }

}  // namespace toggle::cloud
