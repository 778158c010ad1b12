#include "toggle/cloud/servicebus_events.hpp"

#include "toggle/core/error.hpp"
#include "toggle/core/log.hpp"

namespace toggle::cloud {
namespace {

// Service Bus shows DeadLetterReason in lists and filters on it: a short code-like text; the
// whole explanation goes to DeadLetterErrorDescription.
constexpr std::size_t kMaxDeadLetterReason = 200;
constexpr std::size_t kMaxDeadLetterDescription = 1024;

// `text` cut to at most `max` bytes without splitting a UTF-8 character.
std::string cut_utf8(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string readiness_of(const ServiceBusStatus& status) {
  if (status.ready) return "";
  if (status.last_error.empty()) return "Service Bus: connecting";
  return "Service Bus: " + std::string(to_string(status.last_error_kind)) + ": " + status.last_error;
}

}  // namespace

// --- publisher ---

ServiceBusEventPublisher::ServiceBusEventPublisher(const ServiceBusConnectionString& connection,
                                                   const std::string& queue, ServiceBusOptions options)
    : sender_(connection, queue, options) {}

EventPublisher::Outcome ServiceBusEventPublisher::publish(const std::vector<Event>& batch,
                                                          std::chrono::milliseconds timeout) {
  if (batch.empty()) return Outcome::delivered;
  std::vector<OutgoingMessage> messages;
  messages.reserve(batch.size());
  for (const Event& event : batch) {
    OutgoingMessage& m = messages.emplace_back();
    if (event.event_id.empty()) {
      Event with_id = event;
      with_id.event_id = content_event_id(event);
      append_json(m.body, with_id);
      m.message_id = std::move(with_id.event_id);
    } else {
      append_json(m.body, event);
      m.message_id = event.event_id;
    }
  }
  SendResult result = sender_.send(messages, timeout);
  if (result.ok()) return Outcome::delivered;
  // Rejected only when every failure is final: one that may pass later makes the batch worth
  // resending, and the resend settles the final ones as rejected again.
  for (const SendFailure& failure : result.failures) {
    if (failure.kind != ServiceBusErrorKind::rejected) return Outcome::failed;
  }
  return Outcome::rejected;
}

// Only a problem that needs a change (wrong key or rights, an untrusted certificate, no such
// queue) takes evaluation-service out of service. Service Bus unreachable, busy or still
// connecting is no reason: evaluations go on and their events wait in the spool, as with SQS --
// otherwise an outage of the analytics queue would take the hot path down with it.
std::string ServiceBusEventPublisher::readiness() {
  ServiceBusStatus status = sender_.status();
  if (status.ready || status.last_error.empty() || retryable(status.last_error_kind)) return "";
  return readiness_of(status);
}

// --- queue ---

ServiceBusEventQueue::ServiceBusEventQueue(const ServiceBusConnectionString& connection, const std::string& queue,
                                           ServiceBusOptions options)
    : receiver_(connection, queue, options) {}

std::vector<EventQueue::Message> ServiceBusEventQueue::receive(std::size_t max, std::chrono::milliseconds wait) {
  std::vector<ReceivedMessage> received;
  try {
    received = receiver_.receive(max, wait);
  } catch (const ServiceBusError& e) {
    throw Error::unavailable("queue_unavailable", e.what());
  }
  std::vector<Message> out;
  out.reserve(received.size());
  std::lock_guard lock(mutex_);
  for (ReceivedMessage& m : received) {
    // The lock number is unique for the receiver's lifetime, across reconnections.
    std::string handle = std::to_string(m.lock);
    out.push_back({handle, std::move(m.body), static_cast<int>(m.delivery_count) + 1});
    m.body.clear();  // settling needs the lock and the id only
    locked_.emplace(std::move(handle), std::move(m));
  }
  return out;
}

void ServiceBusEventQueue::settle(const std::vector<std::string>& handles, Settle how, const std::string& reason) {
  std::string unknown;
  for (const std::string& handle : handles) {
    ReceivedMessage message;
    {
      std::lock_guard lock(mutex_);
      auto it = locked_.find(handle);
      if (it == locked_.end()) {
        unknown += (unknown.empty() ? "" : ", ") + handle;
        continue;
      }
      message = std::move(it->second);
      locked_.erase(it);
    }
    try {
      switch (how) {
        case Settle::complete:
          receiver_.complete(message);
          break;
        case Settle::abandon:
          receiver_.abandon(message);
          break;
        case Settle::dead_letter:
          receiver_.dead_letter(message, cut_utf8(reason, kMaxDeadLetterReason),
                                cut_utf8(reason, kMaxDeadLetterDescription));
          break;
      }
    } catch (const ServiceBusError& e) {
      // The lock is gone with its connection, or will expire (Service Bus: the queue's lock
      // duration; a broker: when the link closes): the message is delivered again, and the
      // store keeps its event once. Nothing is lost; a lost lock is routine, anything else is
      // worth a line in the log.
      if (e.kind() != ServiceBusErrorKind::lock_lost) {
        log::warn("servicebus settle failed", {{"message_id", message.message_id}, {"error", e.what()}});
      }
    }
  }
  if (!unknown.empty()) {
    throw Error::invalid("unknown_message_handle",
                         "Service Bus queue: no locked message with handle " + unknown + " (settled already?)");
  }
}

void ServiceBusEventQueue::ack(const std::vector<std::string>& handles) { settle(handles, Settle::complete, ""); }
void ServiceBusEventQueue::release(const std::vector<std::string>& handles) { settle(handles, Settle::abandon, ""); }
void ServiceBusEventQueue::dead_letter(const std::string& handle, const std::string& reason) {
  settle({handle}, Settle::dead_letter, reason);
}

std::string ServiceBusEventQueue::readiness() { return readiness_of(receiver_.status()); }

std::size_t ServiceBusEventQueue::in_flight() const {
  std::lock_guard lock(mutex_);
  return locked_.size();
}

}  // namespace toggle::cloud
