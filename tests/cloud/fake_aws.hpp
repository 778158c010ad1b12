// A fake AWS endpoint in-process (toggle::Server on 127.0.0.1, a free port) for the tests of the
// call layer and of web-identity credentials: it records every request and answers with what the
// test's handler returns. Requests with X-Amz-Target go to `service`, the others (form-encoded STS
// calls) to `sts`.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "toggle/core/http.hpp"
#include "toggle/core/router.hpp"
#include "toggle/core/server.hpp"

namespace fakeaws {

struct Seen {
  std::string target;  // X-Amz-Target
  std::string content_type;
  std::string authorization;
  std::string amz_date;
  std::string security_token;  // X-Amz-Security-Token
  std::string body;
  std::map<std::string, std::string> form;  // the decoded form fields (STS)
};

inline std::map<std::string, std::string> parse_form(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    std::string pair = body.substr(start, end - start);
    auto eq = pair.find('=');
    auto key = toggle::percent_decode(pair.substr(0, eq), true);
    auto value = toggle::percent_decode(eq == std::string::npos ? "" : pair.substr(eq + 1), true);
    if (key && !key->empty()) out[*key] = value.value_or("<bad encoding>");
    start = end + 1;
  }
  return out;
}

struct Answer {
  int status = 200;
  std::string body = "{}";
  std::string content_type = "application/x-amz-json-1.0";
};

class FakeAws {
 public:
  using Handler = std::function<Answer(const Seen&, int index)>;  // index: 0 for the first request of its kind

  FakeAws() {
    router_.post("/", [this](toggle::Request& req) -> toggle::Reply {
      Seen seen;
      seen.target = std::string(req.header("X-Amz-Target"));
      seen.content_type = std::string(req.header("Content-Type"));
      seen.authorization = std::string(req.header("Authorization"));
      seen.amz_date = std::string(req.header("X-Amz-Date"));
      seen.security_token = std::string(req.header("X-Amz-Security-Token"));
      seen.body = req.body;
      bool is_sts = seen.target.empty();
      if (is_sts) seen.form = parse_form(req.body);
      Handler handler;
      int index;
      {
        std::lock_guard lock(mutex_);
        auto& list = is_sts ? sts_seen_ : service_seen_;
        index = static_cast<int>(list.size());
        list.push_back(seen);
        handler = is_sts ? sts : service;
      }
      Answer answer = handler ? handler(seen, index) : Answer{};
      toggle::Response res;
      res.status = answer.status;
      res.body = answer.body;
      res.content_type = answer.content_type;
      return res;
    });
    toggle::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 1;
    options.worker_threads = 16;
    options.max_body_bytes = 1 << 20;
    server_ = std::make_unique<toggle::Server>(options, router_);
    server_->start();
  }
  ~FakeAws() { server_->stop(std::chrono::seconds(5)); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::vector<Seen> sts_requests() const {
    std::lock_guard lock(mutex_);
    return sts_seen_;
  }
  std::vector<Seen> service_requests() const {
    std::lock_guard lock(mutex_);
    return service_seen_;
  }

  // Set before requests arrive.
  Handler service;
  Handler sts;

 private:
  toggle::Router router_;
  std::unique_ptr<toggle::Server> server_;
  mutable std::mutex mutex_;
  std::vector<Seen> sts_seen_, service_seen_;
};

// A loopback port that accepts connections (the kernel completes them) but never answers.
class SilentPort {
 public:
  SilentPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentPort() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A loopback port nothing listens on.
inline std::string closed_port_url() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

}  // namespace fakeaws
