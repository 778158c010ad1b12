// The HTTP/1.1 server every service runs: Boost.Beast on Asio, one io_context per thread, a worker
// pool for blocking handlers, limits and timeouts on every read, and a graceful drain on shutdown.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "toggle/core/router.hpp"

namespace toggle {

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 0;   // 0: any free port (tests), see Server::port()
  unsigned io_threads = 0;  // 0: one per core
  unsigned worker_threads = 8;
  std::size_t max_body_bytes = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;  // request line and headers
  std::size_t max_connections = 20000;
  // Connections one client address may hold open at once (0: no cap). Behind a proxy every client
  // shares its address: raise it there, or let the proxy cap clients.
  std::size_t max_connections_per_address = 1000;
  std::chrono::milliseconds idle_timeout{60000};  // a keep-alive connection waiting for its next request
  // From a request's first byte to the end of its headers: short, so that a client trickling its
  // headers (slowloris) cannot hold a connection for long.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds read_timeout{30000};  // reading a request body
  std::chrono::milliseconds write_timeout{30000};
  // Origins allowed to call routes marked `cors` from a browser (CORS_ALLOWED_ORIGINS): exact
  // origins ("https://app.example.com") or "*". Empty: no CORS headers, nothing opens by accident.
  std::vector<std::string> cors_origins;
  // Called when a handler fails with something that is not a toggle::Error (a bug: answered 500)
  // or with an unavailable dependency (503), with the request id the client was given.
  std::function<void(const std::string& request_id, const std::string& what)> on_internal_error;
};

class Server {
 public:
  Server(ServerOptions options, const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts the I/O and worker threads; throws std::runtime_error if the port is taken.
  void start();
  std::uint16_t port() const;
  // Graceful stop: stop accepting, close idle keep-alive connections, let in-flight requests finish
  // (each replying with `Connection: close`), then stop the threads. Connections still busy after
  // `deadline` are closed. Returns the number of connections closed forcibly.
  std::size_t stop(std::chrono::milliseconds deadline);
  // The two halves of stop(): stop accepting and close idle connections; then wait and stop threads.
  void begin_stop();
  std::size_t finish_stop(std::chrono::milliseconds deadline);
  // Runs `task` on the worker pool (for blocking work started outside a handler).
  void post_blocking(std::function<void()> task);
  std::size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace toggle
