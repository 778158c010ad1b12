// The Boost.Beast server. All Beast/Asio instantiations for serving live in this file.
//
// Shape: N shards, each an io_context run by one thread, so a connection's state is only ever
// touched by its own thread (no strands, no locks on the request path). One acceptor hands
// connections to the shards round-robin. Each connection is a coroutine: read the header with a
// deadline, route, check the body limit, read the body, run the handler (inline, or on the worker
// pool when it may block), write the reply.
#include "toggle/core/server.hpp"

#include <sys/resource.h>

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
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "toggle/core/metrics.hpp"
#include "toggle/core/sql.hpp"
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

std::string new_request_id() {
  static std::atomic<std::uint64_t> next{0};
  thread_local std::uint64_t base = std::hash<std::thread::id>{}(std::this_thread::get_id()) & 0xffff;
  char id[32];
  std::snprintf(id, sizeof id, "%04llx-%llx", static_cast<unsigned long long>(base),
                static_cast<unsigned long long>(next.fetch_add(1, std::memory_order_relaxed)));
  return id;
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

// The completion slot behind a Responder: hands the reply back to the connection's own thread.
// The shard's own work guard keeps its loop running while a reply is pending.
template <class CompletionHandler>
class ReplySlot final : public Responder::Slot {
 public:
  ReplySlot(CompletionHandler handler, std::shared_ptr<ShardLiveness> shard)
      : handler_(std::move(handler)), shard_(std::move(shard)) {}
  ~ReplySlot() override {
    if (!done_.load()) complete(error_response(500, "internal error: the request was dropped"));
  }
  void complete(Response response) override {
    if (done_.exchange(true)) return;
    std::lock_guard lock(shard_->mutex);
    if (!shard_->alive) {
      // The server has stopped: its connections and their coroutines are gone with it.
      // Destroying the handler would touch them, so it is deliberately let go.
      new CompletionHandler(std::move(handler_));
      return;
    }
    net::post(shard_->executor, [h = std::move(handler_), r = std::move(response)]() mutable { h(std::move(r)); });
  }

 private:
  CompletionHandler handler_;
  std::shared_ptr<ShardLiveness> shard_;
  std::atomic<bool> done_{false};
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
  };
  struct Shard {
    net::io_context ioc{1};
    std::unordered_set<Connection*> connections;  // touched only by this shard's thread
    std::shared_ptr<ShardLiveness> liveness = std::make_shared<ShardLiveness>(ioc.get_executor());
  };
  static constexpr auto kSweepInterval = std::chrono::milliseconds(250);

  ServerOptions opt;
  const Router& router;
  std::vector<std::unique_ptr<Shard>> shards;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::unique_ptr<Acceptor> acceptor;
  std::unique_ptr<WorkerPool> workers;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> open{0};
  std::atomic<bool> draining{false};
  std::size_t next_shard = 0;
  std::array<Counter*, 6> responses{};  // by status class: 1xx..5xx
  GaugeHandle open_gauge;

  Impl(ServerOptions o, const Router& r) : opt(std::move(o)), router(r) {
    if (opt.io_threads == 0) opt.io_threads = std::max(1u, std::thread::hardware_concurrency());
    for (int c = 1; c <= 5; ++c)
      responses[c] = &metrics().counter("http_responses_total", "HTTP responses sent, by status class",
                                        "code=\"" + std::to_string(c) + "xx\"");
    open_gauge =
        metrics().gauge("http_open_connections", "Open client connections", [this] { return double(open.load()); });
  }

  // --- handler dispatch ---------------------------------------------------------------------

  Response internal_error(const std::exception& e) {
    std::string id = new_request_id();
    if (opt.on_internal_error) opt.on_internal_error(id, e.what());
    return error_response(500, "internal error (request id " + id + ")");
  }

  // The one place where errors become replies: HttpError says its own status; storage that cannot
  // be reached is a 503; anything else is a 500 that carries a request id, never internals.
  Response reply_for_current_exception() {
    try {
      throw;
    } catch (const HttpError& e) {
      return error_response(e.status(), e.what());
    } catch (const sql::Error& e) {
      if (e.kind() == sql::ErrorKind::unavailable) {
        if (opt.on_internal_error) opt.on_internal_error(new_request_id(), e.what());
        return error_response(503, "storage unavailable, retry later");
      }
      return internal_error(e);
    } catch (const std::exception& e) {
      return internal_error(e);
    } catch (...) {
      return internal_error(std::runtime_error("a handler threw something that is not a std::exception"));
    }
  }

  // Runs a handler, turning exceptions into replies. Returns a Response or a Deferred.
  Reply invoke(const Router::Endpoint& endpoint, Request& req) {
    try {
      return endpoint.handler(req);
    } catch (...) {
      return reply_for_current_exception();
    }
  }

  void start_deferred(Deferred& deferred, const Responder& responder) {
    try {
      deferred.start(responder);
    } catch (...) {
      responder(reply_for_current_exception());
    }
  }

  // Waits, without blocking the thread, for a Deferred reply.
  Task<Response> await_reply(Shard& shard, std::function<void(Responder)> start) {
    co_return co_await net::async_initiate<const net::use_awaitable_t<Executor>&, void(Response)>(
        [&start, &shard](auto handler) {
          using H = decltype(handler);
          start(Responder(std::make_shared<ReplySlot<H>>(std::move(handler), shard.liveness)));
        },
        use_task);
  }

  Task<Response> dispatch(Shard& shard, const Router::Endpoint& endpoint, Request& req) {
    if (endpoint.options.blocking) {
      co_return co_await await_reply(shard, [this, &endpoint, &req](Responder responder) {
        workers->post([this, &endpoint, &req, responder] {
          Reply reply = invoke(endpoint, req);
          if (auto* r = std::get_if<Response>(&reply))
            responder(std::move(*r));
          else
            start_deferred(std::get<Deferred>(reply), responder);
        });
      });
    }
    Reply reply = invoke(endpoint, req);
    if (auto* r = std::get_if<Response>(&reply)) co_return std::move(*r);
    auto& deferred = std::get<Deferred>(reply);
    co_return co_await await_reply(shard,
                                   [this, &deferred](Responder responder) { start_deferred(deferred, responder); });
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

  Task<void> write(Connection& conn, Response resp, unsigned version, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(resp.status), version};
    if (!resp.content_type.empty() && resp.status != 204) res.set(http::field::content_type, resp.content_type);
    for (auto& [name, value] : resp.headers) res.set(name, value);
    res.body() = std::move(resp.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    if (resp.status >= 100 && resp.status < 600) responses[resp.status / 100]->inc();
    beast::error_code ec;
    co_await with_deadline(conn, opt.write_timeout,
                           [&] { return http::async_write(conn.socket, res, net::redirect_error(use_task, ec)); });
    if (ec) throw beast::system_error(ec);
  }

  // Reply to a request we will not read further, then close.
  Task<void> reject(Connection& conn, int status, std::string_view message) {
    try {
      co_await write(conn, error_response(status, message), 11, false);
    } catch (...) {
    }
  }

  Task<void> session(Shard& shard, Socket socket) {
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
    open.fetch_sub(1);
  }

  Task<void> serve(Shard& shard, Connection& conn) {
    beast::flat_buffer buffer;
    beast::error_code ec;
    while (!draining.load(std::memory_order_relaxed)) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opt.max_header_bytes));
      // The body limit depends on the route, known only once the header is read: no limit until
      // then (Beast would otherwise reject a large Content-Length while parsing the header). Not
      // boost::none: Beast 1.74 compares Content-Length with it and fails every non-empty body.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      conn.busy = false;
      co_await with_deadline(conn, opt.idle_timeout, [&] {
        return http::async_read_header(conn.socket, buffer, parser, net::redirect_error(use_task, ec));
      });
      conn.busy = true;
      if (ec == http::error::header_limit) {
        // Beast counts the request line and the headers together: if the request line alone
        // does not fit, the URI is too long (414); otherwise the headers are (431).
        auto data = static_cast<const char*>(buffer.data().data());
        auto line_end = std::string_view(data, buffer.size()).find("\r\n");
        bool line_fits = line_end != std::string_view::npos && line_end + 2 <= opt.max_header_bytes;
        // (Not a ?: between two co_awaited temporaries: GCC 12 miscompiles that and destroys one twice.)
        if (line_fits) co_return co_await reject(conn, 431, "request headers too large");
        co_return co_await reject(conn, 414, "request URI too long");
      }
      if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::operation_aborted ||
          ec == net::error::connection_reset)
        co_return;  // closed by the peer, idle too long, or shutdown
      if (ec) co_return co_await reject(conn, 400, "malformed HTTP request: " + ec.message());

      auto& head = parser.get();
      Request req;
      req.method = method_of(head.method());
      req.target = {head.target().data(), head.target().size()};
      if (req.target.empty() || req.target.front() != '/')
        co_return co_await reject(conn, 400, "request target must be an absolute path");
      auto q = req.target.find('?');
      req.path = req.target.substr(0, q);
      if (q != std::string_view::npos) req.query_string = req.target.substr(q + 1);
      req.raw_headers = &head;
      req.header_lookup = &lookup_header;

      auto match = router.match(req.method, req.path);
      std::size_t limit = opt.max_body_bytes;
      if (match.endpoint && match.endpoint->options.body_limit) limit = match.endpoint->options.body_limit;
      parser.body_limit(limit);
      if (auto length = parser.content_length(); length && *length > limit)
        co_return co_await reject(conn, 413, "request body larger than " + std::to_string(limit) + " bytes");

      if (!parser.is_done()) {
        if (beast::iequals(head[http::field::expect], "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          co_await with_deadline(conn, opt.write_timeout, [&] {
            return net::async_write(conn.socket, net::buffer(kContinue.data(), kContinue.size()),
                                    net::redirect_error(use_task, ec));
          });
          if (ec) co_return;
        }
        co_await with_deadline(conn, opt.read_timeout, [&] {
          return http::async_read(conn.socket, buffer, parser, net::redirect_error(use_task, ec));
        });
        if (ec == http::error::body_limit)
          co_return co_await reject(conn, 413, "request body larger than " + std::to_string(limit) + " bytes");
        if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::operation_aborted ||
            ec == net::error::connection_reset)
          co_return;
        if (ec) co_return co_await reject(conn, 400, "malformed HTTP request body: " + ec.message());
      }
      req.body = std::move(head.body());

      Response resp;
      if (match.endpoint) {
        req.params = std::move(match.params);
        resp = co_await dispatch(shard, *match.endpoint, req);
      } else if (!match.allow.empty()) {
        resp = error_response(405, "method " + std::string(head.method_string()) + " not allowed on " +
                                       std::string(req.path) + "; allowed: " + match.allow);
        resp.headers.emplace_back("Allow", match.allow);
      } else {
        resp = error_response(404, "no such endpoint: " + std::string(req.path));
      }
      bool keep_alive = head.keep_alive() && !resp.close && !draining.load(std::memory_order_relaxed);
      co_await write(conn, std::move(resp), head.version(), keep_alive);
      if (!keep_alive) co_return;
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
      if (open.load() >= opt.max_connections) {
        socket.close(ec);
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      open.fetch_add(1);
      net::co_spawn(shard.ioc, session(shard, std::move(socket)), net::detached);
    }
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

  // Runs `fn` on every shard's thread and waits for all of them.
  template <class Fn>
  void on_each_shard(Fn fn) {
    std::atomic<std::size_t> pending{shards.size()};
    for (auto& shard : shards)
      net::post(shard->ioc, [&pending, &fn, s = shard.get()] {
        fn(*s);
        pending.fetch_sub(1);
      });
    while (pending.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
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
  auto until = std::chrono::steady_clock::now() + deadline;
  while (d.open.load() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::size_t forced = d.open.load();
  if (forced > 0) {
    d.on_each_shard([](Impl::Shard& s) {
      beast::error_code ignored;
      for (auto* c : s.connections) c->socket.cancel(ignored);
    });
    auto grace = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (d.open.load() > 0 && std::chrono::steady_clock::now() < grace)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
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
