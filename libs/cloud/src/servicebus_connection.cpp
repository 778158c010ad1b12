#include "servicebus_connection.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <proton/connection_options.hpp>
#include <proton/error_condition.hpp>
#include <proton/receiver_options.hpp>
#include <proton/scalar.hpp>
#include <proton/ssl.hpp>
#include <proton/target.hpp>
#include <proton/target_options.hpp>
#include <proton/timestamp.hpp>
#include <proton/transport.hpp>

#include "toggle/cloud/azure_signing.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/log.hpp"

namespace toggle::cloud {

std::string_view to_string(ServiceBusErrorKind kind) {
  switch (kind) {
    case ServiceBusErrorKind::unauthorized:
      return "unauthorized";
    case ServiceBusErrorKind::tls:
      return "tls";
    case ServiceBusErrorKind::unreachable:
      return "unreachable";
    case ServiceBusErrorKind::not_found:
      return "not_found";
    case ServiceBusErrorKind::busy:
      return "busy";
    case ServiceBusErrorKind::rejected:
      return "rejected";
    case ServiceBusErrorKind::timeout:
      return "timeout";
    case ServiceBusErrorKind::lock_lost:
      return "lock_lost";
    case ServiceBusErrorKind::closed:
      return "closed";
    case ServiceBusErrorKind::protocol:
      return "protocol";
  }
  return "unknown";
}

bool retryable(ServiceBusErrorKind kind) {
  return kind == ServiceBusErrorKind::unreachable || kind == ServiceBusErrorKind::busy ||
         kind == ServiceBusErrorKind::timeout || kind == ServiceBusErrorKind::protocol;
}

std::string servicebus_dead_letter_queue(const std::string& queue) { return queue + "/$DeadLetterQueue"; }

namespace servicebus_detail {
namespace {

using namespace std::chrono_literals;

constexpr auto kTick = 250ms;  // the resolution of reconnect waits and token renewals

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

// What a Proton error condition means to a caller. Proton reports transport failures as
// "proton:io" (refused, reset, DNS) and TLS failures in the description ("SSL Failure: ...").
ServiceBusErrorKind classify(const proton::error_condition& error) {
  std::string name = error.name();
  std::string text = lower(name + " " + error.description());
  if (name == "amqp:unauthorized-access" || contains(text, "unauthorized") || contains(text, "authentication failed")) {
    return ServiceBusErrorKind::unauthorized;
  }
  if (contains(text, "ssl") || contains(text, "tls") || contains(text, "certificate")) {
    // A peer that vanished mid-TLS is a lost connection, not a trust problem.
    bool cut = contains(text, "eof") || contains(text, "reset") || contains(text, "broken pipe");
    return cut ? ServiceBusErrorKind::unreachable : ServiceBusErrorKind::tls;
  }
  if (name == "amqp:not-found") return ServiceBusErrorKind::not_found;
  if (name == "com.microsoft:server-busy" || name == "amqp:resource-limit-exceeded") return ServiceBusErrorKind::busy;
  if (name == "proton:io" || name == "amqp:connection:forced" || contains(text, "connection refused") ||
      contains(text, "connection reset") || contains(text, "timed out") || contains(text, "idle timeout")) {
    return ServiceBusErrorKind::unreachable;
  }
  return ServiceBusErrorKind::protocol;
}

std::string describe(const proton::error_condition& error) {
  std::string out = error.name();
  if (!error.description().empty()) out += (out.empty() ? "" : ": ") + error.description();
  return out.empty() ? "no reason given" : out;
}

// The message id as text (Service Bus and our CBS requests use strings).
std::string id_text(const proton::message_id& id) {
  return id.type() == proton::STRING ? proton::get<std::string>(id) : proton::to_string(id);
}

}  // namespace

std::string queue_address(const ServiceBusConnectionString& connection, const std::string& queue) {
  if (queue.empty() && connection.entity_path.empty()) {
    throw std::invalid_argument("no Service Bus queue: give one, or EntityPath in the connection string");
  }
  if (!queue.empty() && !connection.entity_path.empty() && queue != connection.entity_path &&
      queue != servicebus_dead_letter_queue(connection.entity_path)) {
    throw std::invalid_argument("the queue " + queue + " differs from the connection string's EntityPath " +
                                connection.entity_path);
  }
  return queue.empty() ? connection.entity_path : queue;
}

namespace {
// proton::transfer keeps its pn_delivery_t* behind a protected accessor of its base; a pointer
// to that member, taken through a derived class, reaches it without relying on Proton's layout.
struct TransferAccess : proton::transfer {
  static pn_delivery_t* get(const proton::transfer& transfer) {
    auto getter = &TransferAccess::pn_object;
    const proton::internal::object<pn_delivery_t>& object = transfer;
    return (object.*getter)();
  }
};
}  // namespace

pn_delivery_t* raw_delivery(const proton::transfer& transfer) { return TransferAccess::get(transfer); }

Connection::Connection(ServiceBusConnectionString connection, std::string address, ServiceBusOptions options,
                       const char* role, LinkUser& user)
    : cs_(std::move(connection)),
      address_(std::move(address)),
      options_(options),
      role_(role),
      audience_("sb://" + cs_.host + "/" + address_),
      user_(user),
      backoff_(options.reconnect_min),
      container_(*this, "togglemaster-" + std::string(role) + "-" + crypto::uuid_v4()) {
  container_.auto_stop(false);
  work_ = std::make_unique<proton::work_queue>(container_);
  thread_ = std::thread([this] {
    try {
      container_.run();
    } catch (const std::exception& e) {
      // A handler threw (a Proton bug or misuse): nothing runs any more; say so to callers.
      log::error("servicebus: the AMQP container stopped", {{"role", role_}, {"error", e.what()}});
      std::lock_guard lock(mutex_);
      status_.ready = false;
      status_.last_error = std::string("the AMQP container stopped: ") + e.what();
      status_.last_error_kind = ServiceBusErrorKind::closed;
      attempted_ = transport_closed_ = true;
      changed_.notify_all();
    }
  });
}

Connection::~Connection() { shutdown(); }

void Connection::shutdown() {
  if (!thread_.joinable()) return;
  // Close politely (the broker puts back what this connection held), then stop.
  stopping_ = true;
  post([this] {
    if (connection_ && connection_.active()) connection_.close();
  });
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 2s, [this] { return transport_closed_; });
  }
  container_.stop();  // run() returns once the pending tick() has run (and not re-armed)
  thread_.join();
}

// Work on the container's own queue belongs to no connection, so Proton would not write what it
// produced until the connection's next event; waking the connection flushes it now.
proton::work Connection::flushing(std::function<void()> work) {
  return [this, work = std::move(work)] {
    work();
    if (connection_) connection_.wake();
  };
}

bool Connection::post(std::function<void()> work) { return work_->add(flushing(std::move(work))); }

// One short timer, re-armed until shutdown, runs every timed step (reconnect, token renewal, the
// put-token deadline): Proton's container::stop() waits for all scheduled work, so a timer set
// for the next token renewal would hold a shutdown for most of an hour.
void Connection::tick() {
  if (stopping_) return;
  auto now = std::chrono::steady_clock::now();
  if (reconnect_at_ && now >= *reconnect_at_) {
    reconnect_at_.reset();
    connect();
  }
  if (renew_at_ && now >= *renew_at_) {
    renew_at_.reset();
    if (connection_ && connection_.active()) send_token();
  }
  if (token_deadline_ && now >= *token_deadline_) {
    token_deadline_.reset();
    fail(ServiceBusErrorKind::timeout, "no reply to the CBS put-token for " + audience_ + " within " +
                                           std::to_string(options_.cbs_timeout.count()) + " s");
  }
  work_->schedule(proton::duration(kTick.count()), flushing([this] { tick(); }));
}

void Connection::on_container_start(proton::container&) {
  connect();
  tick();
}

void Connection::connect() {
  renew_at_.reset();
  token_deadline_.reset();
  connection_error_.clear();
  authorized_once_ = false;
  token_request_id_.clear();
  token_due_ = false;
  proton::connection_options options;
  // Service Bus finds the namespace by the open frame's hostname (and TLS's SNI).
  options.virtual_host(cs_.host);
  options.sasl_enabled(true);
  options.sasl_allowed_mechs("ANONYMOUS");
  options.idle_timeout(
      proton::duration(std::chrono::duration_cast<std::chrono::milliseconds>(options_.idle_timeout).count()));
  if (!cs_.development_emulator) {
    // Trust the system's CA store, checking the host name. Proton builds that default trust once
    // per process, so SSL_CERT_FILE (a CA bundle to trust instead) is read here, at each connection.
    const char* bundle = std::getenv("SSL_CERT_FILE");
    options.ssl_client_options(bundle && *bundle ? proton::ssl_client_options(bundle, proton::ssl::VERIFY_PEER_NAME)
                                                 : proton::ssl_client_options());
  }
  std::string url = (cs_.development_emulator ? "amqp://" : "amqps://") + cs_.host + ":" + std::to_string(cs_.port);
  {
    std::lock_guard lock(mutex_);
    transport_closed_ = false;
  }
  try {
    connection_ = container_.connect(url, options);
  } catch (const std::exception& e) {
    connection_ = proton::connection();
    note(ServiceBusErrorKind::unreachable, std::string("cannot connect to ") + url + ": " + e.what());
    connection_ended();
  }
}

void Connection::on_connection_open(proton::connection& c) {
  if (!current(c)) return;
  if (cs_.development_emulator) {
    authorized();
    return;
  }
  // CBS: put-token requests go to $cbs; replies come to an address of our own.
  cbs_reply_to_ = "cbs-reply-" + crypto::uuid_v4();
  cbs_sender_ = c.open_sender("$cbs");
  proton::target_options target;
  target.address(cbs_reply_to_);
  proton::receiver_options receiver;
  receiver.target(target).credit_window(10);
  cbs_receiver_ = c.open_receiver("$cbs", receiver);
  token_due_ = true;
}

bool Connection::is_cbs(const proton::link& link) const {
  return (cbs_sender_ && link == cbs_sender_) || (cbs_receiver_ && link == cbs_receiver_);
}

void Connection::send_token() {
  if (!cbs_sender_ || !cbs_sender_.active() || cbs_sender_.credit() <= 0) {
    token_due_ = true;  // sent from on_sendable
    return;
  }
  token_due_ = false;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  std::int64_t expiry = now.count() + options_.token_lifetime.count();
  proton::message request;
  token_request_id_ = "put-token-" + std::to_string(++token_count_);
  request.id(token_request_id_);
  request.reply_to(cbs_reply_to_);
  request.properties().put("operation", std::string("put-token"));
  request.properties().put("type", std::string("servicebus.windows.net:sastoken"));
  request.properties().put("name", audience_);
  request.properties().put("expiration", proton::timestamp(expiry * 1000));  // optional; as the Azure SDKs send it
  request.body(azure::servicebus_sas_token(audience_, cs_.key_name, cs_.key, expiry));
  cbs_sender_.send(request);
  token_deadline_ = std::chrono::steady_clock::now() + options_.cbs_timeout;
}

void Connection::token_reply(const proton::message& reply) {
  if (token_request_id_.empty() || id_text(reply.correlation_id()) != token_request_id_) return;  // stale
  token_request_id_.clear();
  token_deadline_.reset();
  std::int64_t status = 0;
  std::string description;
  auto& properties = const_cast<proton::message&>(reply).properties();
  try {
    if (properties.exists("status-code")) status = proton::coerce<std::int64_t>(properties.get("status-code"));
    if (properties.exists("status-description")) {
      description = proton::coerce<std::string>(properties.get("status-description"));
    }
  } catch (const std::exception&) {
    status = 0;
  }
  if (status != 200 && status != 202) {
    fail(ServiceBusErrorKind::unauthorized, "Service Bus refused the SAS token for " + audience_ + " (key name " +
                                                cs_.key_name + "): status " + std::to_string(status) +
                                                (description.empty() ? "" : ", " + description));
    return;
  }
  if (!authorized_once_) {
    authorized_once_ = true;
    authorized();
  } else {
    std::lock_guard lock(mutex_);
    ++status_.token_renewals;
  }
  // Put a fresh token well before this one expires (its expiry was rounded down to a second).
  auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(options_.token_lifetime);
  auto renew = std::max<std::chrono::milliseconds>(500ms, (lifetime - 1s) * 3 / 4);
  renew_at_ = std::chrono::steady_clock::now() + renew;
}

void Connection::authorized() {
  try {
    link_ = user_.attach(connection_, address_);
  } catch (const std::exception& e) {
    fail(ServiceBusErrorKind::protocol, std::string("cannot open the link to ") + address_ + ": " + e.what());
  }
}

void Connection::on_sender_open(proton::sender& s) {
  if (is_cbs(s) || !(link_ && s == link_)) return;
  // A refused link is attached without a target, then detached with the reason.
  if (s.target().address().empty()) return;
  ready();
}

void Connection::on_receiver_open(proton::receiver& r) {
  if (is_cbs(r) || !(link_ && r == link_)) return;
  if (r.source().address().empty()) return;
  ready();
}

void Connection::ready() {
  backoff_ = options_.reconnect_min;
  std::uint64_t connections;
  {
    std::lock_guard lock(mutex_);
    status_.ready = true;
    status_.last_error.clear();
    connections = ++status_.connections;
    attempted_ = true;
  }
  changed_.notify_all();
  log::info("servicebus: ready", {{"role", role_},
                                  {"host", cs_.host},
                                  {"queue", address_},
                                  {"tls", !cs_.development_emulator},
                                  {"connections", connections}});
  user_.opened();
}

void Connection::link_error(const proton::link& link, const char* what) {
  if (!current(link.connection())) return;
  auto error = link.error();
  if (is_cbs(link)) {
    fail(error.empty() ? ServiceBusErrorKind::protocol : classify(error),
         std::string("the broker ") + what + " the $cbs link: " + describe(error));
  } else if (link_ && link == link_ && !stopping_) {
    fail(error.empty() ? ServiceBusErrorKind::protocol : classify(error),
         "the broker " + std::string(what) + " the link to " + address_ + ": " + describe(error));
  }
}

void Connection::on_sender_error(proton::sender& s) { link_error(s, "detached"); }
void Connection::on_receiver_error(proton::receiver& r) { link_error(r, "detached"); }
void Connection::on_sender_close(proton::sender& s) {
  if (s.error().empty()) link_error(s, "closed");
}
void Connection::on_receiver_close(proton::receiver& r) {
  if (r.error().empty()) link_error(r, "closed");
}

void Connection::on_sendable(proton::sender& s) {
  if (cbs_sender_ && s == cbs_sender_) {
    if (token_due_) send_token();
    return;
  }
  user_.on_sendable(s);
}

void Connection::on_message(proton::delivery& d, proton::message& m) {
  if (cbs_receiver_ && d.receiver() == cbs_receiver_) {
    token_reply(m);
    return;
  }
  user_.on_message(d, m);
}

void Connection::on_tracker_accept(proton::tracker& t) {
  if (!is_cbs(t.sender())) user_.on_tracker_accept(t);
}
void Connection::on_tracker_reject(proton::tracker& t) {
  if (!is_cbs(t.sender())) user_.on_tracker_reject(t);
}
void Connection::on_tracker_release(proton::tracker& t) {
  if (!is_cbs(t.sender())) user_.on_tracker_release(t);
}
void Connection::on_tracker_settle(proton::tracker& t) {
  if (!is_cbs(t.sender())) user_.on_tracker_settle(t);
}

void Connection::on_connection_error(proton::connection& c) {
  if (current(c)) note(classify(c.error()), "Service Bus closed the connection: " + describe(c.error()));
}

void Connection::on_transport_error(proton::transport& t) {
  if (!current(t.connection())) return;
  std::string url = cs_.host + ":" + std::to_string(cs_.port);
  note(classify(t.error()), "connection to " + url + " failed: " + describe(t.error()));
}

void Connection::on_error(const proton::error_condition& error) {
  // Proton's fallback for errors no other handler took; the default would throw.
  note(classify(error), describe(error));
}

void Connection::note(ServiceBusErrorKind kind, const std::string& why) {
  // The first reason is the cause; what follows (the close it leads to) is not.
  if (!connection_error_.empty()) return;
  connection_error_ = why;
  connection_error_kind_ = kind;
}

void Connection::fail(ServiceBusErrorKind kind, const std::string& why) {
  note(kind, why);
  if (connection_ && connection_.active()) connection_.close();
}

void Connection::on_transport_close(proton::transport& t) {
  if (current(t.connection())) connection_ended();
}

void Connection::connection_ended() {
  connection_ = proton::connection();
  link_ = proton::link();
  cbs_sender_ = proton::sender();
  cbs_receiver_ = proton::receiver();
  token_request_id_.clear();
  renew_at_.reset();
  token_deadline_.reset();
  if (connection_error_.empty()) note(ServiceBusErrorKind::unreachable, "the connection to " + cs_.host + " closed");
  ServiceBusErrorKind kind = stopping_ ? ServiceBusErrorKind::closed : connection_error_kind_;
  std::string why = stopping_ ? std::string("the Service Bus client is closing") : connection_error_;
  {
    std::lock_guard lock(mutex_);
    status_.ready = false;
    status_.last_error = why;
    status_.last_error_kind = kind;
    attempted_ = true;
    transport_closed_ = true;
  }
  changed_.notify_all();
  user_.lost(kind, why);
  if (stopping_) return;
  log::warn("servicebus: disconnected; reconnecting", {{"role", role_},
                                                       {"queue", address_},
                                                       {"kind", to_string(kind)},
                                                       {"error", why},
                                                       {"retry_ms", static_cast<std::int64_t>(backoff_.count())}});
  reconnect_at_ = std::chrono::steady_clock::now() + backoff_;
  backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
}

void Connection::wait_ready(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  auto permanent = [this] {
    return attempted_ && !status_.ready && !status_.last_error.empty() &&
           (status_.last_error_kind == ServiceBusErrorKind::unauthorized ||
            status_.last_error_kind == ServiceBusErrorKind::tls ||
            status_.last_error_kind == ServiceBusErrorKind::not_found);
  };
  changed_.wait_for(lock, timeout, [&] { return status_.ready || permanent(); });
  if (status_.ready) return;
  if (status_.last_error.empty()) {
    throw ServiceBusError(ServiceBusErrorKind::timeout,
                          "Service Bus at " + cs_.host + " not ready after " + std::to_string(timeout.count()) + " ms");
  }
  throw ServiceBusError(status_.last_error_kind, status_.last_error);
}

ServiceBusStatus Connection::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

}  // namespace servicebus_detail
}  // namespace toggle::cloud
