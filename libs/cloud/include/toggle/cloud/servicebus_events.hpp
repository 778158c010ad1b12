// The event pipeline's seams (toggle/core/event_transport.hpp) on Azure Service Bus:
//
//   evaluation-service --ServiceBusEventPublisher--> queue --ServiceBusEventQueue--> analytics-service
//
// One message per event: the body is the event's JSON as the contract writes it (append_json: the
// original's user_id, flag_name, result, timestamp, plus event_id, and variant / reason when set),
// content-type application/json, and the message-id is the event_id (what Service Bus's duplicate
// detection keys on, when the queue has it on). Either end may see a message twice -- a batch
// resent after a lost confirmation, a redelivery after a lock was lost -- and the store keeps
// each event_id once, so twice is once.
//
//   auto cs = parse_servicebus_connection_string(AZURE_SERVICEBUS_CONNECTION_STRING);
//   ServiceBusEventPublisher publisher(cs, "evaluation-events");   // evaluation-service
//   ServiceBusEventQueue queue(cs, "evaluation-events");           // analytics-service
//
// With UseDevelopmentEmulator=true (a local AMQP 1.0 broker such as RabbitMQ) the queue name is
// the AMQP address as given ("/queue/evaluation-events"). Both classes connect in the background
// and reconnect by themselves; readiness() says what is wrong meanwhile. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "toggle/cloud/servicebus_client.hpp"
#include "toggle/core/event_transport.hpp"

namespace toggle::cloud {

class ServiceBusEventPublisher final : public EventPublisher {
 public:
  // Throws std::invalid_argument when no queue is named (see ServiceBusSender).
  ServiceBusEventPublisher(const ServiceBusConnectionString& connection, const std::string& queue,
                           ServiceBusOptions options = {});

  // Sends the batch (pipelined on one link) and waits for the broker's outcome of each message:
  //   delivered  every message was accepted (stored by Service Bus)
  //   rejected   the broker refused some for good (e.g. a message larger than the queue takes)
  //              and accepted all the others: resending cannot help
  //   failed     anything else (not connected, unauthorized, unknown queue, busy, no answer
  //              within `timeout`): keep the batch and send it again later; what was accepted
  //              meanwhile is sent twice, which the store absorbs.
  // An event without an event_id is sent with content_event_id(), so a resend keeps its id.
  Outcome publish(const std::vector<Event>& batch, std::chrono::milliseconds timeout) override;
  std::string name() const override { return "servicebus"; }
  // "" unless the last failure needs a change of configuration: unauthorized, tls, not_found
  // (e.g. "Service Bus: unauthorized: ..."). Unreachable, busy or connecting is ready: the
  // events wait in evaluation-service's spool meanwhile.
  std::string readiness() override;

  ServiceBusStatus status() const { return sender_.status(); }

 private:
  ServiceBusSender sender_;
};

class ServiceBusEventQueue final : public EventQueue {
 public:
  // `queue` as for ServiceBusSender. The queue's own settings decide redelivery: its lock
  // duration, and its max delivery count, after which Service Bus moves a message to
  // <queue>/$DeadLetterQueue (MaxDeliveryCountExceeded).
  ServiceBusEventQueue(const ServiceBusConnectionString& connection, const std::string& queue,
                       ServiceBusOptions options = {});

  // Up to `max` messages, locked (peek-lock) until settled; waits up to `wait` for the first and
  // returns what has come. delivery_count is Service Bus's DeliveryCount (1 the first time).
  // Throws Error{unavailable} when nothing came and the connection is down (so a consumer backs
  // off instead of spinning).
  std::vector<Message> receive(std::size_t max, std::chrono::milliseconds wait) override;
  // Complete: the messages leave the queue.
  void ack(const std::vector<std::string>& handles) override;
  // Abandon: the messages become available again at once, their delivery count raised; at the
  // queue's max delivery count Service Bus dead-letters them.
  void release(const std::vector<std::string>& handles) override;
  // Dead-letter: to <queue>/$DeadLetterQueue, with `reason` as DeadLetterReason (cut to 200
  // bytes; the whole text, up to 1 KiB, as DeadLetterErrorDescription).
  void dead_letter(const std::string& handle, const std::string& reason) override;
  // For ack / release / dead_letter: a message whose lock was lost meanwhile (the connection
  // dropped, or on Service Bus its lock duration passed) cannot be settled; it is delivered again,
  // and the store keeps it once. Those calls therefore do not throw for it. They throw
  // Error{invalid} for a handle this queue did not hand out or that was settled already (after
  // settling the others).

  // Shutdown: a receive() waiting returns at once (empty), later ones too.
  void interrupt() override { receiver_.interrupt(); }

  std::string name() const override { return "servicebus"; }
  // Always nullopt: reading a queue's message count needs the management API and Manage rights
  // ($management or the ATOM REST API), which a Listen/Send key does not have.
  std::optional<std::int64_t> depth() override { return std::nullopt; }
  std::string readiness() override;

  ServiceBusStatus status() const { return receiver_.status(); }
  // Messages handed out by receive() and not settled yet.
  std::size_t in_flight() const;

 private:
  enum class Settle { complete, abandon, dead_letter };
  void settle(const std::vector<std::string>& handles, Settle how, const std::string& reason);

  ServiceBusReceiver receiver_;
  mutable std::mutex mutex_;
  std::map<std::string, ReceivedMessage> locked_;  // by handle: what receive() handed out, until settled
};

}  // namespace toggle::cloud
