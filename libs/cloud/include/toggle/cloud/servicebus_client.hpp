// Azure Service Bus queues over AMQP 1.0 (Debian's Qpid Proton C++), with a blocking, thread-safe
// API: a sender of batches and a peek-lock receiver.
//
//   auto cs = parse_servicebus_connection_string(getenv("AZURE_SERVICEBUS_CONNECTION_STRING"));
//   ServiceBusSender sender(cs, "evaluation-events");
//   auto result = sender.send({{event_id, json}}, 5s);     // returns once the broker accepted each
//
//   ServiceBusReceiver receiver(cs, "evaluation-events");
//   for (auto& m : receiver.receive(100, 1s)) { store(m.body); receiver.complete(m); }
//
// Production (a namespace): TLS on 5671 trusting the system's CA store (or the bundle named by
// SSL_CERT_FILE, read at each connection) and checking the host name, SASL ANONYMOUS, then the
// CBS handshake: a SAS token made from the connection string's key is put to `$cbs` for the
// queue's audience (sb://<host>/<queue>), and put again after 3/4 of its lifetime. With
// UseDevelopmentEmulator=true (a local broker such as RabbitMQ's AMQP 1.0 plugin): plain AMQP,
// no TLS, no CBS, and the queue name is the AMQP address as given ("/queue/NAME").
//
// Each object owns one AMQP connection run by a Proton container in a thread of its own; calls
// hand work to it through a work queue and wait. A lost connection is re-established in the
// background with exponential backoff (and a fresh token); meanwhile calls fail fast with the
// reason (see status()). The key and tokens are never logged.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/cloud/azure_connection_string.hpp"

namespace toggle::cloud {

enum class ServiceBusErrorKind {
  unauthorized,  // the token was refused (wrong key or key name, no rights), or SASL failed
  tls,           // the TLS handshake failed (certificate not trusted, wrong host name)
  unreachable,   // no connection (DNS, refused, reset) or the connection was lost
  not_found,     // no such queue (or namespace)
  busy,          // the broker did not take the message now (released, server busy): try again
  rejected,      // the broker refused the message for good (e.g. larger than the queue accepts)
  timeout,       // no answer within the call's time limit
  lock_lost,     // settling a message whose link is gone: the broker will deliver it again
  closed,        // the client is being destroyed
  protocol,      // anything else the broker reported
};

std::string_view to_string(ServiceBusErrorKind kind);
// Whether the same call may succeed later: unreachable, busy, timeout and protocol are; the
// others need a change (credentials, trust, configuration, the message) or are final.
bool retryable(ServiceBusErrorKind kind);

class ServiceBusError : public std::runtime_error {
 public:
  ServiceBusError(ServiceBusErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ServiceBusErrorKind kind() const { return kind_; }
  bool retryable() const { return cloud::retryable(kind_); }

 private:
  ServiceBusErrorKind kind_;
};

struct ServiceBusOptions {
  // How long each SAS token is valid; it is renewed after three quarters of it.
  std::chrono::seconds token_lifetime{3600};
  // Waits between reconnection attempts: doubling from min to max, reset by a successful one.
  std::chrono::milliseconds reconnect_min{200};
  std::chrono::milliseconds reconnect_max{30000};
  // The AMQP idle timeout: a connection silent for this long is considered dead.
  std::chrono::seconds idle_timeout{60};
  // How long a put-token may wait for its reply before the connection is dropped.
  std::chrono::seconds cbs_timeout{30};
};

struct ServiceBusStatus {
  bool ready = false;  // connected, authorized, and the queue's link attached
  // The last failure ("" if none since the last successful connection) and its kind.
  std::string last_error;
  ServiceBusErrorKind last_error_kind = ServiceBusErrorKind::unreachable;
  std::uint64_t connections = 0;     // successful connections so far (reconnections = this - 1)
  std::uint64_t token_renewals = 0;  // tokens put after the first, on the current connection or before
};

// "<queue>/$DeadLetterQueue": receive from it to read what was dead-lettered.
std::string servicebus_dead_letter_queue(const std::string& queue);

struct OutgoingMessage {
  std::string message_id;  // e.g. the event_id; Service Bus duplicate detection keys on it
  std::string body;        // sent as one binary data section, content-type application/json
};

struct SendFailure {
  std::size_t index = 0;  // position in the batch
  ServiceBusErrorKind kind = ServiceBusErrorKind::unreachable;
  std::string reason;
};

struct SendResult {
  std::vector<SendFailure> failures;  // empty: every message was accepted by the broker
  bool ok() const { return failures.empty(); }
};

class ServiceBusSender {
 public:
  // `queue`: the queue name (Service Bus) or AMQP address (development emulator); empty: the
  // connection string's EntityPath. Throws std::invalid_argument if neither names a queue, or
  // if both do and differ. Connecting starts at once, in the background.
  ServiceBusSender(const ServiceBusConnectionString& connection, const std::string& queue,
                   ServiceBusOptions options = {});
  ~ServiceBusSender();  // closes the connection; a send() still waiting returns its failures
  ServiceBusSender(const ServiceBusSender&) = delete;
  ServiceBusSender& operator=(const ServiceBusSender&) = delete;

  // Waits until ready; throws ServiceBusError with the reason when `timeout` passes, or at once
  // after a failure a retry will not fix (unauthorized, tls, not_found).
  void wait_ready(std::chrono::milliseconds timeout);
  // Sends the batch and returns when the broker has settled every message (accepted, or the
  // failure of each that was not), or when `timeout` passes (the rest then fail with timeout;
  // they may still be stored). While the connection is down it fails the batch at once with the
  // connection's error. Thread-safe; batches from several threads interleave.
  SendResult send(const std::vector<OutgoingMessage>& batch, std::chrono::milliseconds timeout);
  ServiceBusStatus status() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

struct ReceivedMessage {
  std::string message_id;
  std::string body;  // a data section's bytes or an AMQP string's text
  std::string content_type;
  // Earlier deliveries of this message (the AMQP header's delivery-count: 0 the first time;
  // Service Bus's DeliveryCount is this + 1).
  std::uint32_t delivery_count = 0;
  // Set on messages read from a dead-letter queue (application property DeadLetterReason).
  std::string dead_letter_reason;
  std::uint64_t lock = 0;  // which delivery complete / abandon / dead_letter settle
};

class ServiceBusReceiver {
 public:
  // `queue` as for ServiceBusSender (servicebus_dead_letter_queue(queue) reads the DLQ).
  ServiceBusReceiver(const ServiceBusConnectionString& connection, const std::string& queue,
                     ServiceBusOptions options = {});
  ~ServiceBusReceiver();  // messages not settled yet go back to the queue
  ServiceBusReceiver(const ServiceBusReceiver&) = delete;
  ServiceBusReceiver& operator=(const ServiceBusReceiver&) = delete;

  void wait_ready(std::chrono::milliseconds timeout);  // as ServiceBusSender::wait_ready
  // Up to `max` messages, locked (peek-lock: at least once), waiting up to `wait` for the
  // first: it returns what has come as soon as something has. Link credit is granted for what
  // is asked; a message that arrives after the call returned waits for the next call. Throws
  // ServiceBusError when it returns nothing and the connection is down (the reason), so a
  // caller's loop backs off instead of spinning.
  std::vector<ReceivedMessage> receive(std::size_t max, std::chrono::milliseconds wait);
  // Shutdown: receive() calls waiting now return at once, empty, and so do later ones (settling
  // still works). Messages received meanwhile stay locked until the receiver closes.
  void interrupt();
  // Settle a received message: done with it (accepted); give it back to be delivered again,
  // with its delivery count raised (modified, delivery-failed; with UseDevelopmentEmulator=true
  // released, as RabbitMQ ignores modified); or move it to the dead-letter queue (rejected with
  // com.microsoft:dead-letter and the reason). Each throws ServiceBusError lock_lost if the
  // message's connection was lost meanwhile: it will be delivered again.
  void complete(const ReceivedMessage& message);
  void abandon(const ReceivedMessage& message);
  void dead_letter(const ReceivedMessage& message, const std::string& reason, const std::string& description = "");
  ServiceBusStatus status() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toggle::cloud
