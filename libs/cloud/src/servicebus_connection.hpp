// The AMQP connection under a ServiceBusSender or ServiceBusReceiver (private to libs/cloud).
//
// A Proton container runs in a thread of its own and calls this handler; every Proton object is
// touched in that thread only. Other threads hand it work with post(). The connection:
//   connect (TLS, SASL ANONYMOUS) -> CBS put-token, 200 -> the queue's link (the LinkUser's) ->
//   ready; the token is put again after 3/4 of its lifetime; any loss -> the LinkUser is told,
//   and a new connection follows after a backoff.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <proton/connection.hpp>
#include <proton/container.hpp>
#include <proton/delivery.hpp>
#include <proton/message.hpp>
#include <proton/message_id.hpp>
#include <proton/messaging_handler.hpp>
#include <proton/receiver.hpp>
#include <proton/sender.hpp>
#include <proton/source.hpp>
#include <proton/tracker.hpp>
#include <proton/work_queue.hpp>
#include <string>
#include <thread>

#include "toggle/cloud/servicebus_client.hpp"

struct pn_delivery_t;

namespace toggle::cloud::servicebus_detail {

// The queue's link, as a sender or a receiver sees it. Called in the container's thread.
class LinkUser {
 public:
  virtual ~LinkUser() = default;
  // Authorized: open the queue's link on `connection` and return it.
  virtual proton::link attach(proton::connection& connection, const std::string& address) = 0;
  // The link is attached.
  virtual void opened() {}
  // The connection (and the link) is gone; `why` says what happened.
  virtual void lost(ServiceBusErrorKind kind, const std::string& why) = 0;
  virtual void on_sendable(proton::sender&) {}
  virtual void on_message(proton::delivery&, proton::message&) {}
  virtual void on_tracker_accept(proton::tracker&) {}
  virtual void on_tracker_reject(proton::tracker&) {}
  virtual void on_tracker_release(proton::tracker&) {}
  virtual void on_tracker_settle(proton::tracker&) {}
};

// The queue's AMQP address: `queue`, or else the connection string's EntityPath. Throws
// std::invalid_argument when neither names one, or both do and differ.
std::string queue_address(const ServiceBusConnectionString& connection, const std::string& queue);

// The C delivery under a Proton C++ delivery or tracker: for the outcome details the C++ API
// does not expose (modified/delivery-failed, a rejection's error condition).
pn_delivery_t* raw_delivery(const proton::transfer& transfer);

class Connection : public proton::messaging_handler {
 public:
  // `address`: the queue's AMQP address; `role` names the connection in logs ("sender").
  Connection(ServiceBusConnectionString connection, std::string address, ServiceBusOptions options, const char* role,
             LinkUser& user);
  ~Connection() override;  // shutdown()
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Closes the connection (the LinkUser is told, with kind closed), stops the container and
  // joins its thread. The owner calls it first in its destructor, while what lost() touches
  // still exists. Idempotent.
  void shutdown();

  // Runs `work` in the container's thread; false when the container has stopped.
  bool post(std::function<void()> work);
  void wait_ready(std::chrono::milliseconds timeout);
  ServiceBusStatus status() const;
  const std::string& address() const { return address_; }

 private:
  proton::work flushing(std::function<void()> work);
  void tick();
  void connect();
  void send_token();
  void token_reply(const proton::message& reply);
  void authorized();  // CBS done (or not needed): open the queue's link
  void ready();       // the queue's link is attached
  void link_error(const proton::link& link, const char* what);
  // Keeps the first reason this connection failed (what follows is its consequence).
  void note(ServiceBusErrorKind kind, const std::string& why);
  // note(), then close the connection; connection_ended() follows and reconnects.
  void fail(ServiceBusErrorKind kind, const std::string& why);
  // The connection is gone: tell the status and the LinkUser, schedule the next attempt.
  void connection_ended();
  bool is_cbs(const proton::link& link) const;
  bool current(const proton::connection& c) const { return connection_ && c == connection_; }

  // proton::messaging_handler
  void on_container_start(proton::container&) override;
  void on_connection_open(proton::connection&) override;
  void on_connection_error(proton::connection&) override;
  void on_transport_error(proton::transport&) override;
  void on_transport_close(proton::transport&) override;
  void on_sender_open(proton::sender&) override;
  void on_receiver_open(proton::receiver&) override;
  void on_sender_error(proton::sender&) override;
  void on_receiver_error(proton::receiver&) override;
  void on_sender_close(proton::sender&) override;
  void on_receiver_close(proton::receiver&) override;
  void on_sendable(proton::sender&) override;
  void on_message(proton::delivery&, proton::message&) override;
  void on_tracker_accept(proton::tracker&) override;
  void on_tracker_reject(proton::tracker&) override;
  void on_tracker_release(proton::tracker&) override;
  void on_tracker_settle(proton::tracker&) override;
  void on_error(const proton::error_condition&) override;

  const ServiceBusConnectionString cs_;
  const std::string address_;
  const ServiceBusOptions options_;
  const std::string role_;
  const std::string audience_;  // sb://<host>/<queue>: what the CBS token is for
  LinkUser& user_;

  // The container's thread only.
  proton::connection connection_;
  proton::link link_;  // the queue's link
  proton::sender cbs_sender_;
  proton::receiver cbs_receiver_;
  std::string cbs_reply_to_;
  std::string token_request_id_;  // the put-token awaiting its reply; "" if none
  bool token_due_ = false;        // a put-token waits for credit on $cbs
  bool authorized_once_ = false;  // on this connection
  std::string connection_error_;  // why this connection failed; "" so far
  ServiceBusErrorKind connection_error_kind_ = ServiceBusErrorKind::unreachable;
  // What tick() does when its time comes; unset: nothing due.
  std::optional<std::chrono::steady_clock::time_point> reconnect_at_, renew_at_, token_deadline_;
  std::uint64_t token_count_ = 0;
  std::chrono::milliseconds backoff_;
  std::atomic<bool> stopping_{false};  // set by shutdown(), read in the container's thread

  // Shared with calling threads.
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  ServiceBusStatus status_;
  bool attempted_ = false;  // at least one connection attempt ended (ready or failed)
  bool transport_closed_ = true;

  proton::container container_;
  std::unique_ptr<proton::work_queue> work_;
  std::thread thread_;
};

}  // namespace toggle::cloud::servicebus_detail
