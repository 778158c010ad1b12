// The ceiling for `make bench`: a bare Boost.Beast HTTP/1.1 server that answers every request with
// a constant JSON body. Same threading as ToggleMaster's server (one io_context per core, a
// coroutine per connection, keep-alive) but no routing, parsing, validation or evaluation, so
// evaluate ÷ ceiling measures what our request handling costs.
//
//   ceiling_server PORT [THREADS]
// clang-format off
#include <utility>  // first: Boost 1.74 awaitable.hpp uses std::exchange without including it
// clang-format on
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

static net::awaitable<void> session(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  beast::error_code ec;
  for (;;) {
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, net::redirect_error(net::use_awaitable, ec));
    if (ec) break;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = R"({"flag_name":"bench","user_id":"user","result":true})";
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ceiling_server PORT [THREADS]\n";
    return 2;
  }
  auto port = static_cast<unsigned short>(std::atoi(argv[1]));
  unsigned threads = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : std::thread::hardware_concurrency();
  std::vector<std::unique_ptr<net::io_context>> shards;
  for (unsigned i = 0; i < threads; ++i) shards.push_back(std::make_unique<net::io_context>(1));
  tcp::acceptor acceptor(*shards[0], {net::ip::make_address("127.0.0.1"), port});
  net::co_spawn(
      *shards[0],
      [&]() -> net::awaitable<void> {
        for (std::size_t next = 0;; ++next) {
          auto& ioc = *shards[next % shards.size()];
          tcp::socket socket(ioc);
          co_await acceptor.async_accept(socket, net::use_awaitable);
          socket.set_option(tcp::no_delay(true));
          net::co_spawn(ioc, session(std::move(socket)), net::detached);
        }
      },
      net::detached);
  std::vector<std::thread> runners;
  for (auto& s : shards)
    runners.emplace_back([&s] {
      auto guard = net::make_work_guard(*s);
      s->run();
    });
  for (auto& t : runners) t.join();
}
