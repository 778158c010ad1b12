// The Boost.Beast server. All Beast/Asio instantiations for serving live in this file.
//
// Shape: N shards, each an io_context run by one thread, so a connection's state is only ever
// touched by its own thread (no strands, no locks on the request path). One acceptor hands
// connections to the shards round-robin. Each connection is a coroutine that loops over two
// steps: read_request() (the header with a deadline, routing, limits, the body) and respond()
// (the handler, inline or on the worker pool when it may block), then writes the reply.
#include "toggle/core/server.hpp"

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "toggle/core/metrics.hpp"
#include "toggle/core/text.hpp"
#include "toggle/core/worker_pool.hpp"

namespace toggle {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using BeastRequest = http::request<http::string_body>;
using Clock = std::chrono::steady_clock;

// Concrete executor types everywhere: the default any_io_executor is type-erased, and copying and
// destroying it on every operation shows up in profiles of the hot path.
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Acceptor = net::basic_socket_acceptor<tcp, Executor>;
using Timer = net::basic_waitable_timer<Clock, net::wait_traits<Clock>, Executor>;
template <class T>
using Task = net::awaitable<T, Executor>;
constexpr net::use_awaitable_t<Executor> use_task;

Method method_of(http::verb v) {
  switch (v) {
    case http::verb::get:
      return Method::get;
    case http::verb::head:
      return Method::head;
    case http::verb::post:
      return Method::post;
    case http::verb::put:
      return Method::put;
    case http::verb::patch:
      return Method::patch;
    case http::verb::delete_:
      return Method::delete_;
    case http::verb::options:
      return Method::options;
    default:
      return Method::other;
  }
}

std::string_view lookup_header(const void* raw, std::string_view name) {
  const auto& fields = *static_cast<const BeastRequest*>(raw);
  auto it = fields.find(beast::string_view(name.data(), name.size()));
  if (it == fields.end()) return {};
  auto v = it->value();
  return {v.data(), v.size()};
}

// A request's id, sent back in X-Request-Id and in error bodies, and logged with internal errors:
// the client's own X-Request-Id when it is a sane token (so a trace crosses services and
// proxies), else a new one: this thread's tag and a process-wide sequence number.
std::string request_id(std::string_view given) {
  auto sane = [](std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != ':') return false;
    return true;
  };
  if (sane(given)) return std::string(given);
  static std::atomic<std::uint64_t> next{0};
  thread_local std::uint64_t tag = std::hash<std::thread::id>{}(std::this_thread::get_id()) & 0xffff;
  char id[40];
  auto* end = std::to_chars(id, id + 8, tag, 16).ptr;
  *end++ = '-';
  end = std::to_chars(end, id + sizeof id, next.fetch_add(1, std::memory_order_relaxed), 16).ptr;
  return std::string(id, end);
}

bool closed_by_peer(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::operation_aborted ||
         ec == net::error::connection_reset;
}

// Raise the open-file limit to the hard maximum: each connection is a file descriptor and the
// default soft limit (1024) is far below the 10,000 connections a service must hold.
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// Whether a shard's event loop still takes work. Replies may complete on threads the server does
// not own (change feeds, fetchers); once the server stops, they must not touch the loop.
struct ShardLiveness {
  explicit ShardLiveness(Executor e) : executor(e) {}
  std::mutex mutex;
  bool alive = true;
  Executor executor;
};

// The completion slot behind a Responder, for a reply that may also end by the client leaving
// (abandon(), on the connection's thread). One lock orders the reply, the leaving and the owner's
// hook: whichever comes first wins, and the hook, run under it, is never under way once the
// Responder has returned (see Responder::on_abandon). Taken once per deferred reply, uncontended
// but in those races.
class ReplySlotBase : public Responder::Slot {
 public:
  void complete(Response response) final {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = true;
    resume(std::move(response));
  }
  void on_abandon(std::function<void()> hook) final {
    std::lock_guard lock(mutex_);
    if (abandoned_)
      hook();
    else if (!done_)
      hook_ = std::move(hook);
  }
  // The client has gone: the connection resumes (to close) and the owner is told.
  void abandon() {
    std::lock_guard lock(mutex_);
    if (done_) return;
    done_ = abandoned_ = true;
    resume(Response{});
    if (hook_) hook_();
  }

 protected:
  bool pending() const { return !done_; }  // for the destructor: the last owner, nothing races it
  virtual void resume(Response response) = 0;  // hands the reply to the connection's thread

 private:
  std::mutex mutex_;
  bool done_ = false, abandoned_ = false;
  std::function<void()> hook_;
};

// Hands the reply back to the connection's own thread. The shard's own work guard keeps its loop
// running while a reply is pending.
template <class CompletionHandler>
class ReplySlot final : public ReplySlotBase {
 public:
  ReplySlot(CompletionHandler handler, std::shared_ptr<ShardLiveness> shard)
      : handler_(std::move(handler)), shard_(std::move(shard)) {}
  ~ReplySlot() override {
    if (pending()) complete(error_response(ErrorKind::internal, "internal", "internal error: the request was dropped"));
  }

 private:
  void resume(Response response) override {
    std::lock_guard lock(shard_->mutex);
    if (!shard_->alive) {
      // The server has stopped: its connections and their coroutines are gone with it.
      // Destroying the handler would touch them, so it is deliberately let go.
      new CompletionHandler(std::move(handler_));
      return;
    }
    net::post(shard_->executor, [h = std::move(handler_), r = std::move(response)]() mutable { h(std::move(r)); });
  }

  CompletionHandler handler_;
  std::shared_ptr<ShardLiveness> shard_;
};

}  // namespace

struct Server::Impl {
  // Deadlines are checked by a sweep per shard (every 250 ms) rather than a timer per socket
  // operation: arming and cancelling a timer on every read and write costs system calls on the
  // hot path, storing a time point costs nothing.
  struct Connection {
    Socket socket;
    Clock::time_point deadline = Clock::time_point::max();  // of the I/O operation under way
    bool busy = false;                                      // between reading a request's header and writing its reply
    bool gone = false;                                      // the client left while its reply was parked
    beast::flat_buffer buffer;                              // read, not parsed yet
  };
  struct Shard {
    net::io_context ioc{1};
    std::unordered_set<Connection*> connections;  // touched only by this shard's thread
    std::shared_ptr<ShardLiveness> liveness = std::make_shared<ShardLiveness>(ioc.get_executor());
  };
  static constexpr auto kSweepInterval = std::chrono::milliseconds(250);

  // A request whose header has been read, with what it needs to be answered. `request` views
  // into `parser`'s header, so both live as long as the exchange.
  using Parser = http::request_parser<http::string_body>;
  struct Exchange {
    Parser parser;
    Request request;
    Router::Match match;
    std::string id;
    Method method = Method::other;
    std::optional<Response> rejection;  // answered without running a handler; the connection closes
  };

  ServerOptions opt;
  const Router& router;
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::unique_ptr<Acceptor> acceptor;
  std::unique_ptr<WorkerPool> workers;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> open{0};
  std::mutex open_mutex;
  std::condition_variable all_closed;  // notified when `open` drops to 0 while draining
  std::atomic<bool> draining{false};
  std::mutex per_address_mutex;  // taken once per connection, at accept and at close
  std::map<net::ip::address, std::size_t> per_address;
  std::size_t next_shard = 0;
  std::array<std::atomic<Counter*>, 600> responses{};  // by status code, registered on first use
  GaugeHandle open_gauge;

  Impl(ServerOptions o, const Router& r) : opt(std::move(o)), router(r) {
    if (opt.io_threads == 0) opt.io_threads = std::max(1u, std::thread::hardware_concurrency());
    open_gauge =
        metrics().gauge("http_open_connections", "Open client connections", [this] { return double(open.load()); });
  }

  void count_response(int status) {
    if (status < 100 || status >= 600) return;
    Counter* c = responses[status].load(std::memory_order_relaxed);
    if (!c) {  // a race registers the same counter twice: metrics() returns the same one
      c = &metrics().counter("http_responses_total", "HTTP responses sent, by status code",
                             "code=\"" + std::to_string(status) + "\"");
      responses[status].store(c, std::memory_order_relaxed);
    }
    c->inc();
  }

  // --- handler dispatch ---------------------------------------------------------------------

  // The one place where errors become replies: a toggle::Error carries its kind (the status) and
  // code; anything else is a bug, answered 500 with the request id and logged, never internals.
  Response reply_for_current_exception(const std::string& id) {
    try {
      throw;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::unavailable || e.kind() == ErrorKind::internal) {
        if (opt.on_internal_error) opt.on_internal_error(id, e.what());
        if (e.kind() == ErrorKind::internal)
          return error_response(ErrorKind::internal, "internal", "internal error (request id " + id + ")");
      }
      return error_response(e);
    } catch (const std::exception& e) {
      if (opt.on_internal_error) opt.on_internal_error(id, e.what());
    } catch (...) {
      if (opt.on_internal_error) opt.on_internal_error(id, "a handler threw something that is not a std::exception");
    }
    return error_response(ErrorKind::internal, "internal", "internal error (request id " + id + ")");
  }

  // Runs a handler, turning exceptions into replies. Returns a Response or a Deferred.
  Reply invoke(const Router::Endpoint& endpoint, Request& req, const std::string& id) {
    try {
      return endpoint.handler(req);
    } catch (...) {
      return reply_for_current_exception(id);
    }
  }

  void start_deferred(Deferred& deferred, const Responder& responder, const std::string& id) {
    try {
      deferred.start(responder);
    } catch (...) {
      responder(reply_for_current_exception(id));
    }
  }

  // Waits, without blocking the thread, for a reply from elsewhere. `slot`, when given, is
  // pointed at the reply's slot (to tell it the client has gone).
  Task<Response> await_reply(Shard& shard, std::function<void(Responder)> start,
                             std::weak_ptr<ReplySlotBase>* slot = nullptr) {
    co_return co_await net::async_initiate<const net::use_awaitable_t<Executor>&, void(Response)>(
        [&start, &shard, slot](auto handler) {
          using H = decltype(handler);
          auto reply_slot = std::make_shared<ReplySlot<H>>(std::move(handler), shard.liveness);
          if (slot) *slot = reply_slot;
          start(Responder(std::move(reply_slot)));
        },
        use_task);
  }

  Task<Response> dispatch(Shard& shard, Connection& conn, const Router::Endpoint& endpoint, Request& req,
                          const std::string& id) {
    if (!endpoint.options.blocking) {
      Reply reply = invoke(endpoint, req, id);
      if (auto* r = std::get_if<Response>(&reply)) co_return std::move(*r);
      co_return co_await park(conn, shard, std::get<Deferred>(reply), id);
    }
    std::optional<Deferred> deferred;
    Response resp = co_await await_reply(shard, [this, &endpoint, &req, &id, &deferred](Responder responder) {
      workers->post([this, &endpoint, &req, &id, &deferred, responder] {
        Reply reply = invoke(endpoint, req, id);
        if (auto* r = std::get_if<Response>(&reply)) return responder(std::move(*r));
        // Parked back on the connection's thread, where its socket can be watched.
        deferred = std::move(std::get<Deferred>(reply));
        responder(Response{});
      });
    });
    if (!deferred) co_return resp;
    co_return co_await park(conn, shard, *deferred, id);
  }

  // A route's before_body verdict (see RouteOptions): run where its handler would run.
  Task<Response> check_before_body(Shard& shard, const Router::Endpoint& endpoint, Exchange& ex) {
    auto check = [this, &endpoint, &ex]() -> Reply {
      try {
        return endpoint.options.before_body(ex.request);
      } catch (...) {
        return reply_for_current_exception(ex.id);
      }
    };
    if (!endpoint.options.blocking) {
      Reply verdict = check();
      if (auto* r = std::get_if<Response>(&verdict)) co_return std::move(*r);
      auto& deferred = std::get<Deferred>(verdict);
      co_return co_await await_reply(shard, [&](Responder responder) { start_deferred(deferred, responder, ex.id); });
    }
    co_return co_await await_reply(shard, [this, &ex, check](Responder responder) {
      workers->post([this, &ex, check, responder] {
        Reply verdict = check();
        if (auto* r = std::get_if<Response>(&verdict)) return responder(std::move(*r));
        start_deferred(std::get<Deferred>(verdict), responder, ex.id);
      });
    });
  }

  // --- parked replies -----------------------------------------------------------------------

  // A Deferred reply may be parked for long (a long poll). Meanwhile the socket is read, so that
  // a client that leaves is noticed at once: its connection closes, which releases its place in
  // the connection caps, and the reply's owner is told (Responder::on_abandon). What a pipelining
  // client sends meanwhile is kept in the buffer for the next request; past a header's worth of
  // it, watching stops (the client is alive, and the kernel buffers the rest).
  struct Watch {
    Timer stopped;                      // cancelled when the read ends: what the reply waits for
    std::weak_ptr<ReplySlotBase> slot;  // weak: a Responder dropped by its owner still answers 500
    bool reading = false, replied = false;
  };

  Task<Response> park(Connection& conn, Shard& shard, Deferred& deferred, const std::string& id) {
    Watch watch{Timer(conn.socket.get_executor(), Clock::time_point::max())};
    Response resp = co_await await_reply(
        shard,
        [&](Responder responder) {
          start_deferred(deferred, responder, id);
          watch_socket(conn, watch);
        },
        &watch.slot);
    watch.replied = true;
    if (watch.reading) {  // stop it: the socket is the next request's, the buffer too
      beast::error_code ec;
      conn.socket.cancel(ec);
      co_await watch.stopped.async_wait(net::redirect_error(use_task, ec));
    }
    co_return resp;
  }

  void watch_socket(Connection& conn, Watch& watch) {
    static constexpr std::size_t kChunk = 4096;
    watch.reading = true;
    conn.socket.async_read_some(conn.buffer.prepare(kChunk), [this, &conn, &watch](beast::error_code ec,
                                                                                     std::size_t n) {
      watch.reading = false;
      conn.buffer.commit(n);
      if (ec && ec != net::error::operation_aborted && !watch.replied) {  // end of stream or reset
        conn.gone = true;
        if (auto slot = watch.slot.lock()) slot->abandon();
      } else if (!ec && !watch.replied && conn.buffer.size() < opt.max_header_bytes) {
        return watch_socket(conn, watch);
      }
      watch.stopped.cancel();
    });
  }

  // --- CORS ---------------------------------------------------------------------------------

  // The Access-Control-Allow-Origin value for `origin`, or "" when it is not allowed.
  std::string allowed_origin(std::string_view origin) const {
    if (origin.empty()) return {};
    for (const auto& o : opt.cors_origins) {
      if (o == "*") return "*";
      if (o == origin) return std::string(origin);
    }
    return {};
  }

  void add_cors_headers(Response& resp, std::string_view origin) const {
    std::string allowed = allowed_origin(origin);
    if (allowed.empty()) return;
    resp.headers.emplace_back("Access-Control-Allow-Origin", allowed);
    resp.headers.emplace_back("Access-Control-Expose-Headers", "ETag, X-Request-Id");
    if (allowed != "*") resp.headers.emplace_back("Vary", "Origin");
  }

  // OPTIONS on an existing path: its methods, and a CORS preflight's answer where allowed.
  Response options_reply(const Exchange& ex) const {
    Response resp = empty_response(204);
    std::string allow = ex.match.allow + ", OPTIONS";
    resp.headers.emplace_back("Allow", allow);
    if (ex.match.cors && !allowed_origin(ex.request.header("Origin")).empty()) {
      add_cors_headers(resp, ex.request.header("Origin"));
      resp.headers.emplace_back("Access-Control-Allow-Methods", allow);
      resp.headers.emplace_back("Access-Control-Allow-Headers",
                                "Authorization, Content-Type, X-API-Key, If-None-Match, X-Request-Id");
      resp.headers.emplace_back("Access-Control-Max-Age", "600");
    }
    return resp;
  }

  // --- one connection -----------------------------------------------------------------------

  // Runs one socket operation under a deadline (see Connection).
  template <class Op>
  static auto with_deadline(Connection& conn, std::chrono::milliseconds timeout, Op op) -> decltype(op()) {
    conn.deadline = Clock::now() + timeout;
    auto result = co_await op();
    conn.deadline = Clock::time_point::max();
    co_return result;
  }

  Task<void> write(Connection& conn, Response resp, Method method, unsigned version, bool keep_alive,
                   const std::string& id) {
    http::response<http::string_body> res{static_cast<http::status>(resp.status), version};
    if (!resp.content_type.empty() && resp.status != 204 && resp.status != 304)
      res.set(http::field::content_type, resp.content_type);
    if (!id.empty()) {
      res.set("X-Request-Id", id);
      if (resp.is_error && !resp.body.empty() && resp.body.back() == '}') {
        std::string field = ",\"request_id\":";
        append_json_string(field, id);
        resp.body.insert(resp.body.size() - 1, field);
      }
    }
    for (auto& [name, value] : resp.headers) res.set(name, value);
    res.body() = std::move(resp.body);
    res.keep_alive(keep_alive);
    if (resp.status != 204 && resp.status != 304) res.prepare_payload();  // those carry no length, no body
    // HEAD: the headers of the GET reply, Content-Length included, and no body.
    if (method == Method::head) res.body().clear();
    count_response(resp.status);
    beast::error_code ec;
    co_await with_deadline(conn, opt.write_timeout,
                           [&] { return http::async_write(conn.socket, res, net::redirect_error(use_task, ec)); });
    if (ec) throw beast::system_error(ec);
  }

  static Response rejection(ErrorKind kind, std::string_view code, std::string message) {
    return error_response(kind, code, message);
  }

  // Reads the next request: its header (within the idle timeout), its route, and its body within
  // the route's limit. nullopt when the peer closed the connection or went quiet, or shutdown
  // began; an Exchange with a `rejection` when the request cannot be served (malformed, too
  // large: the body is not read).
  Task<bool> read_request(Shard& shard, Connection& conn, Exchange& ex) {
    auto& buffer = conn.buffer;
    auto& parser = ex.parser;
    beast::error_code ec;
    parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
    // The body limit depends on the route, known only once the header is read: no limit until
    // then (Beast would otherwise reject a large Content-Length while parsing the header). Not
    // boost::none: Beast 1.74 compares Content-Length with it and fails every non-empty body.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    conn.busy = false;
    if (buffer.size() == 0) {  // waiting for the next request: the idle timeout
      conn.deadline = Clock::now() + opt.idle_timeout;
      co_await conn.socket.async_wait(tcp::socket::wait_read, net::redirect_error(use_task, ec));
      conn.deadline = Clock::time_point::max();
      if (ec) co_return false;  // idle too long, or shutdown began
    }
    // Its first byte is here: the whole header within the (shorter) header timeout.
    co_await with_deadline(conn, opt.header_timeout, [&] {
      return http::async_read_header(conn.socket, buffer, parser, net::redirect_error(use_task, ec));
    });
    conn.busy = true;
    if (ec == http::error::header_limit) {
      // Beast counts the request line and the headers together: if the request line alone does
      // not fit, the URI is too long (414); otherwise the headers are (431). The parser takes
      // what it has parsed out of the buffer: once it has the request line (its target is set),
      // the buffer holds only header fields.
      auto data = static_cast<const char*>(buffer.data().data());
      auto line_end = std::string_view(data, buffer.size()).find("\r\n");
      bool line_fits = !parser.get().target().empty() ||
                       (line_end != std::string_view::npos && line_end + 2 <= opt.max_header_bytes);
      ex.id = request_id({});  // the client's X-Request-Id cannot be read: a new one
      ex.rejection = line_fits ? rejection(ErrorKind::headers_too_large, "headers_too_large", "request headers too large")
                               : rejection(ErrorKind::uri_too_long, "uri_too_long", "request URI too long");
      co_return true;
    }
    if (closed_by_peer(ec)) co_return false;  // closed by the peer, idle too long, or shutdown
    if (ec) {
      ex.id = request_id({});
      ex.rejection = rejection(ErrorKind::invalid, "malformed_request", "malformed HTTP request: " + ec.message());
      co_return true;
    }

    auto& head = parser.get();
    auto& req = ex.request;
    req.method = ex.method = method_of(head.method());
    req.target = {head.target().data(), head.target().size()};
    req.raw_headers = &head;
    req.header_lookup = &lookup_header;
    ex.id = request_id(req.header("X-Request-Id"));
    if (req.target.empty() || req.target.front() != '/') {
      ex.rejection = rejection(ErrorKind::invalid, "malformed_request", "request target must be an absolute path");
      co_return true;
    }
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string_view::npos) req.query_string = req.target.substr(q + 1);

    ex.match = router.match(req.method, req.path);
    req.params = std::move(ex.match.params);  // for a check before the body, too
    std::size_t limit = opt.max_body_bytes;
    if (ex.match.endpoint && ex.match.endpoint->options.body_limit) limit = ex.match.endpoint->options.body_limit;
    auto too_large = [&] {
      return rejection(ErrorKind::too_large, "body_too_large",
                       "request body larger than " + std::to_string(limit) + " bytes");
    };
    parser.body_limit(limit);
    if (auto length = parser.content_length(); length && *length > limit) {
      ex.rejection = too_large();
      co_return true;
    }
    if (!parser.is_done() && ex.match.endpoint && ex.match.endpoint->options.before_body) {
      // The route's check of the headers (e.g. the API key) before the body is read: a request
      // that will be refused costs no body read (nor a 100 Continue).
      Response verdict = co_await check_before_body(shard, *ex.match.endpoint, ex);
      if (verdict.status != proceed().status) {
        if (ex.match.endpoint->options.cors) add_cors_headers(verdict, ex.request.header("Origin"));
        ex.rejection = std::move(verdict);
        co_return true;
      }
    }
    if (!parser.is_done()) {
      if (beast::iequals(head[http::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        co_await with_deadline(conn, opt.write_timeout, [&] {
          return net::async_write(conn.socket, net::buffer(kContinue.data(), kContinue.size()),
                                  net::redirect_error(use_task, ec));
        });
        if (ec) co_return false;
      }
      co_await with_deadline(conn, opt.read_timeout, [&] {
        return http::async_read(conn.socket, buffer, parser, net::redirect_error(use_task, ec));
      });
      if (ec == http::error::body_limit) {
        ex.rejection = too_large();
        co_return true;
      }
      if (closed_by_peer(ec)) co_return false;
      if (ec) {
        ex.rejection =
            rejection(ErrorKind::invalid, "malformed_request", "malformed HTTP request body: " + ec.message());
        co_return true;
      }
    }
    req.body = std::move(head.body());
    co_return true;
  }

  // The reply to a request that was read: the handler's, or 404 / 405 / OPTIONS.
  Task<Response> respond(Shard& shard, Connection& conn, Exchange& ex) {
    auto& req = ex.request;
    Response resp;
    if (ex.match.endpoint) {
      resp = co_await dispatch(shard, conn, *ex.match.endpoint, req, ex.id);
      if (ex.match.endpoint->options.cors) add_cors_headers(resp, req.header("Origin"));
    } else if (!ex.match.allow.empty() && req.method == Method::options) {
      resp = options_reply(ex);
    } else if (!ex.match.allow.empty()) {
      resp = error_response(ErrorKind::method_not_allowed, "method_not_allowed",
                            "method " + std::string(ex.parser.get().method_string()) + " not allowed on " +
                                std::string(req.path) + "; allowed: " + ex.match.allow);
      resp.headers.emplace_back("Allow", ex.match.allow);
    } else {
      resp = error_response(ErrorKind::not_found, "not_found", "no such endpoint: " + std::string(req.path));
    }
    co_return resp;
  }

  Task<void> serve(Shard& shard, Connection& conn) {
    while (!draining.load(std::memory_order_relaxed)) {
      Exchange ex;
      if (!co_await read_request(shard, conn, ex)) co_return;
      auto& head = ex.parser.get();
      if (ex.rejection) {
        // The request was not read to its end: the connection cannot carry another one.
        try {
          co_await write(conn, std::move(*ex.rejection), ex.method, 11, false, ex.id);
        } catch (...) {
          co_return;
        }
        co_await linger(conn);
        co_return;
      }
      Response resp = co_await respond(shard, conn, ex);
      if (conn.gone) co_return;  // nobody to answer
      bool keep_alive = head.keep_alive() && !resp.close && !draining.load(std::memory_order_relaxed);
      co_await write(conn, std::move(resp), ex.method, head.version(), keep_alive, ex.id);
      if (!keep_alive) co_return;
    }
  }

  // After refusing a request whose body was not read: the client may still be sending it. Closing
  // now would reset the connection (unread data) and a reset discards the reply the client has not
  // read yet, so our side is shut and what it sends is read and dropped, for a moment and up to a
  // bound, until it closes too.
  Task<void> linger(Connection& conn) {
    static constexpr std::size_t kMaxLingerBytes = 64 << 20;
    beast::error_code ec;
    conn.socket.shutdown(tcp::socket::shutdown_send, ec);
    conn.deadline = Clock::now() + std::chrono::seconds(2);  // the sweep ends it
    std::array<char, 16384> sink;
    for (std::size_t drained = 0; !ec && drained < kMaxLingerBytes;)
      drained += co_await conn.socket.async_read_some(net::buffer(sink), net::redirect_error(use_task, ec));
    conn.deadline = Clock::time_point::max();
  }

  Task<void> session(Shard& shard, Socket socket, net::ip::address peer) {
    Connection conn{std::move(socket)};
    shard.connections.insert(&conn);
    try {
      co_await serve(shard, conn);
    } catch (...) {
      // The peer went away mid-write or a deadline passed: nothing to answer.
    }
    beast::error_code ignored;
    conn.socket.shutdown(tcp::socket::shutdown_send, ignored);
    conn.socket.close(ignored);
    shard.connections.erase(&conn);
    release_address(peer);
    if (open.fetch_sub(1) == 1 && draining.load()) {
      std::lock_guard lock(open_mutex);
      all_closed.notify_all();
    }
  }

  // --- accepting and stopping ---------------------------------------------------------------

  Task<void> accept_loop() {
    for (;;) {
      Shard& shard = *shards[next_shard++ % shards.size()];
      Socket socket(shard.ioc.get_executor());
      beast::error_code ec;
      co_await acceptor->async_accept(socket, net::redirect_error(use_task, ec));
      if (ec == net::error::operation_aborted || !acceptor->is_open()) co_return;
      if (ec) {  // e.g. out of file descriptors: back off briefly instead of spinning
        Timer pause(acceptor->get_executor(), std::chrono::milliseconds(50));
        co_await pause.async_wait(net::redirect_error(use_task, ec));
        continue;
      }
      auto peer = socket.remote_endpoint(ec).address();
      if (open.load() >= opt.max_connections || ec || !claim_address(peer)) {
        socket.close(ec);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      open.fetch_add(1);
      net::co_spawn(shard.ioc, session(shard, std::move(socket), peer), net::detached);
    }
  }

  // Counts a connection of `peer`; false when it holds max_connections_per_address already.
  bool claim_address(const net::ip::address& peer) {
    if (opt.max_connections_per_address == 0) return true;
    std::lock_guard lock(per_address_mutex);
    auto& count = per_address[peer];
    if (count >= opt.max_connections_per_address) {
      if (count == 0) per_address.erase(peer);
      return false;
    }
    ++count;
    return true;
  }
  void release_address(const net::ip::address& peer) {
    if (opt.max_connections_per_address == 0) return;
    std::lock_guard lock(per_address_mutex);
    if (auto it = per_address.find(peer); it != per_address.end() && --it->second == 0) per_address.erase(it);
  }

  // Closes the connections whose I/O operation has outlived its deadline.
  Task<void> sweep(Shard& shard) {
    Timer timer(shard.ioc.get_executor());
    beast::error_code ec;
    for (;;) {
      timer.expires_after(kSweepInterval);
      co_await timer.async_wait(net::redirect_error(use_task, ec));
      if (ec) co_return;
      auto now = Clock::now();
      for (auto* c : shard.connections)
        if (c->deadline <= now) c->socket.cancel(ec);
    }
  }

  // Runs `fn` on every shard's thread and waits for all of them, up to `limit`.
  template <class Fn>
  void on_each_shard(Fn fn, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    auto state = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
    auto pending = std::make_shared<std::size_t>(shards.size());
    for (auto& shard : shards)
      net::post(shard->ioc, [state, pending, fn, s = shard.get()] {
        fn(*s);
        std::lock_guard lock(state->first);
        if (--*pending == 0) state->second.notify_all();
      });
    std::unique_lock lock(state->first);
    state->second.wait_for(lock, limit, [&] { return *pending == 0; });
  }

  // Waits until every connection has closed or `until` passes.
  bool wait_closed(Clock::time_point until) {
    std::unique_lock lock(open_mutex);
    return all_closed.wait_until(lock, until, [this] { return open.load() == 0; });
  }
};

Server::Server(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() {
  if (!impl_->threads.empty()) stop(std::chrono::milliseconds(0));
}

void Server::start() {
  auto& d = *impl_;
  raise_fd_limit();
  for (unsigned i = 0; i < d.opt.io_threads; ++i) {
    d.shards.push_back(std::make_unique<Impl::Shard>());
    d.guards.push_back(net::make_work_guard(d.shards.back()->ioc));
  }
  d.workers = std::make_unique<WorkerPool>(d.opt.worker_threads);
  auto address = net::ip::make_address(d.opt.host);
  tcp::endpoint endpoint(address, d.opt.port);
  d.acceptor = std::make_unique<Acceptor>(d.shards[0]->ioc.get_executor());
  beast::error_code ec;
  d.acceptor->open(endpoint.protocol(), ec);
  if (!ec) d.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) d.acceptor->bind(endpoint, ec);
  if (!ec) d.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + d.opt.host + ":" + std::to_string(d.opt.port) + ": " + ec.message());
  net::co_spawn(d.shards[0]->ioc, d.accept_loop(), net::detached);
  for (auto& shard : d.shards) net::co_spawn(shard->ioc, d.sweep(*shard), net::detached);
  for (auto& shard : d.shards) d.threads.emplace_back([s = shard.get()] { s->ioc.run(); });
}

std::uint16_t Server::port() const { return impl_->acceptor->local_endpoint().port(); }

std::size_t Server::open_connections() const { return impl_->open.load(); }

void Server::post_blocking(std::function<void()> task) { impl_->workers->post(std::move(task)); }

std::size_t Server::stop(std::chrono::milliseconds deadline) {
  begin_stop();
  return finish_stop(deadline);
}

void Server::begin_stop() {
  auto& d = *impl_;
  if (d.threads.empty() || d.draining.exchange(true)) return;
  net::post(d.shards[0]->ioc, [&d] {
    beast::error_code ec;
    d.acceptor->close(ec);
  });
  // Idle keep-alive connections are waiting for a request that may never come: close them now.
  // Busy ones finish their request and close after replying (`draining`).
  d.on_each_shard([](Impl::Shard& s) {
    beast::error_code ignored;
    for (auto* c : s.connections)
      if (!c->busy) c->socket.cancel(ignored);
  });
}

std::size_t Server::finish_stop(std::chrono::milliseconds deadline) {
  auto& d = *impl_;
  if (d.threads.empty()) return 0;
  d.wait_closed(Clock::now() + deadline);
  std::size_t forced = d.open.load();
  if (forced > 0) {
    // Past the deadline: cancel what is still in flight, and give the coroutines a moment to end.
    d.on_each_shard([](Impl::Shard& s) {
      beast::error_code ignored;
      for (auto* c : s.connections) c->socket.cancel(ignored);
    });
    d.wait_closed(Clock::now() + std::chrono::milliseconds(500));
  }
  d.workers->join();
  for (auto& s : d.shards) {
    std::lock_guard lock(s->liveness->mutex);
    s->liveness->alive = false;
  }
  for (auto& g : d.guards) g.reset();
  for (auto& s : d.shards) s->ioc.stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  return forced;
}

}  // namespace toggle
