// The HTTP request path through the real server code: each input is the bytes a client sends on
// one connection (request line, headers, query, body; several requests when it pipelines) to the
// real auth-service App served by toggle::Server on loopback, with small limits so that the
// limits' edges are reached. The client then half-closes and reads until the server closes.
// Properties: no crash, leak, data race report or undefined behaviour in the server; no 500 (a
// handler failing on input is a bug: bad input is a 4xx); every connection ends (a hang is
// reported by libFuzzer's -timeout).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "auth-service/app.hpp"
#include "fuzz.hpp"
#include "toggle/core/server.hpp"

namespace {

struct Platform {
  std::unique_ptr<toggle::auth::AuthService> app;
  std::unique_ptr<toggle::Server> server;
  std::uint16_t port = 0;
};

Platform& platform() {
  static Platform* p = [] {
    auto* out = new Platform;  // lives as long as the process: libFuzzer exits without unwinding
    char dir[] = "/tmp/togglemaster-fuzz-XXXXXX";
    if (!mkdtemp(dir)) std::abort();
    toggle::auth::AuthService::Config config;
    config.master_key = "fuzz-master-key-0123456789";  // in the seed corpus, so the admin routes are reached
    config.service_key = "tm_key_fuzz_service_key";
    config.database.default_path = std::string(dir) + "/auth.db";
    out->app = std::make_unique<toggle::auth::AuthService>(config);
    toggle::ServerOptions options{.host = "127.0.0.1", .port = 0, .io_threads = 1, .worker_threads = 2};
    options.max_body_bytes = 4096;
    options.max_header_bytes = 2048;
    options.cors_origins = {"https://app.example.com"};
    out->server = std::make_unique<toggle::Server>(options, out->app->router());
    out->server->start();
    out->port = out->server->port();
    return out;
  }();
  return *p;
}

std::string exchange(std::uint16_t port, std::string_view request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) std::abort();
  // Closed with a reset once done (no TIME_WAIT on our side), and from a new loopback address
  // each time (127.0.0.0/8 is all loopback): a connection the server closes first leaves a
  // TIME_WAIT behind, and a long run would otherwise use up the ports of one address.
  linger no_wait{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &no_wait, sizeof no_wait);
  static std::uint32_t next_source = 0;
  sockaddr_in source{};
  source.sin_family = AF_INET;
  source.sin_addr.s_addr = htonl(0x7F000002u + next_source++ % 0xFFFFF0u);  // 127.0.0.2 onwards
  if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) std::abort();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("fuzz: connect");
    std::abort();
  }
  // The server may answer (413, 431, 401) and close before reading everything: a failed send is
  // part of the exchange, not an error.
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string reply;
  char buffer[16384];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) reply.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  return reply;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  platform();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string reply = exchange(platform().port, fuzz::text_of(data, size));
  for (std::size_t at = reply.find("HTTP/1.1 "); at != std::string::npos; at = reply.find("HTTP/1.1 ", at + 1))
    fuzz::require(reply.compare(at + 9, 3, "500") != 0, "no 500 for a client's bytes");
  return 0;
}
