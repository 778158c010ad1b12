#include "toggle/core/redis.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace toggle {
namespace {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

bool all_digits(const std::string& s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; }

}  // namespace

std::string RedisAddress::describe() const {
  return (tls ? "rediss://" : "redis://") + host + ":" + std::to_string(port) + "/" + std::to_string(db);
}

std::optional<RedisAddress> parse_redis_url(const std::string& url) {
  RedisAddress a;
  std::string rest;
  if (url.rfind("redis://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("rediss://", 0) == 0) {
    rest = url.substr(9);
    a.tls = true;
  } else {
    return std::nullopt;
  }
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    auto colon = auth.find(':');
    if (colon == std::string::npos) {
      a.password = auth;  // redis://password@host, as some clients accept
    } else {
      a.username = auth.substr(0, colon);
      a.password = auth.substr(colon + 1);
    }
    rest = rest.substr(at + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      if (!all_digits(db) || db.size() > 4) return std::nullopt;
      a.db = std::stoi(db);
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    if (!all_digits(port) || port.size() > 5) return std::nullopt;
    a.port = std::stoi(port);
    rest = rest.substr(0, colon);
  }
  if (rest.empty() || a.port <= 0 || a.port > 65535) return std::nullopt;
  a.host = rest;
  return a;
}

struct RedisClient::Impl {
  RedisAddress address;
  std::chrono::milliseconds timeout;
  int fd = -1;
  SSL_CTX* tls_context = nullptr;
  SSL* tls = nullptr;
  redisReader* reader = nullptr;

  ~Impl() {
    drop();
    if (tls_context) SSL_CTX_free(tls_context);
  }
  void drop() {
    if (tls) SSL_free(tls);
    if (fd >= 0) ::close(fd);
    if (reader) redisReaderFree(reader);
    tls = nullptr;
    fd = -1;
    reader = nullptr;
  }
  [[noreturn]] void fail(const std::string& what) {
    drop();  // reconnect on the next call
    throw std::runtime_error("redis " + address.describe() + ": " + what);
  }
  static std::string tls_error() {
    unsigned long e = ERR_get_error();
    char text[256] = "unknown TLS error";
    if (e) ERR_error_string_n(e, text, sizeof text);
    ERR_clear_error();
    return text;
  }

  void open_socket() {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(address.host.c_str(), std::to_string(address.port).c_str(), &hints, &found) != 0 || !found)
      fail("cannot resolve the host");
    std::string problem = "cannot connect";
    for (addrinfo* ai = found; ai && fd < 0; ai = ai->ai_next) {
      fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
      if (fd < 0) continue;
      int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        rc = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
                     ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0
                 ? 0
                 : -1;
        if (rc != 0) problem = err ? std::strerror(err) : "connect timed out";
      } else if (rc != 0) {
        problem = std::strerror(errno);
      }
      if (rc != 0) {
        ::close(fd);
        fd = -1;
      }
    }
    ::freeaddrinfo(found);
    if (fd < 0) fail(problem);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }

  void start_tls() {
    if (!tls_context) {
      tls_context = SSL_CTX_new(TLS_client_method());
      if (!tls_context) fail("TLS: " + tls_error());
      SSL_CTX_set_min_proto_version(tls_context, TLS1_2_VERSION);
      SSL_CTX_set_verify(tls_context, SSL_VERIFY_PEER, nullptr);
      bool cas = address.ca_file.empty() ? SSL_CTX_set_default_verify_paths(tls_context) == 1
                                         : SSL_CTX_load_verify_locations(tls_context, address.ca_file.c_str(), nullptr) == 1;
      if (!cas) fail("TLS: cannot load the CA certificates: " + tls_error());
    }
    tls = SSL_new(tls_context);
    if (!tls || SSL_set_fd(tls, fd) != 1) fail("TLS: " + tls_error());
    // The certificate must name the host: its DNS name (also sent as SNI), or its IP address.
    in6_addr ip;
    bool is_ip = ::inet_pton(AF_INET, address.host.c_str(), &ip) == 1 || ::inet_pton(AF_INET6, address.host.c_str(), &ip) == 1;
    if (is_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls), address.host.c_str());
    } else {
      SSL_set_tlsext_host_name(tls, address.host.c_str());
      SSL_set1_host(tls, address.host.c_str());
    }
    if (SSL_connect(tls) != 1) fail("TLS handshake failed: " + tls_error());
  }

  void connect() {
    open_socket();
    if (address.tls) start_tls();
    reader = redisReaderCreate();
    if (!reader) fail("out of memory");
    if (!address.password.empty()) {
      if (address.username.empty())
        command({"AUTH", address.password});
      else
        command({"AUTH", address.username, address.password});
    }
    if (address.db != 0) command({"SELECT", std::to_string(address.db)});
  }

  void write_all(const char* data, std::size_t size) {
    while (size > 0) {
      long n = tls ? SSL_write(tls, data, static_cast<int>(std::min<std::size_t>(size, 1 << 30)))
                   : ::send(fd, data, size, MSG_NOSIGNAL);
      if (n <= 0) fail("write failed");
      data += n;
      size -= static_cast<std::size_t>(n);
    }
  }

  // The next reply; nullptr when `idle_ok` and nothing arrived within the timeout.
  Reply read_reply(bool idle_ok) {
    char chunk[16384];
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(reader, &raw) != REDIS_OK) fail(std::string("protocol error: ") + reader->errstr);
      if (raw) return Reply(static_cast<redisReply*>(raw));
      long n;
      if (tls) {
        n = SSL_read(tls, chunk, sizeof chunk);
        if (n <= 0 && SSL_get_error(tls, static_cast<int>(n)) == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          ERR_clear_error();
          if (idle_ok) return nullptr;
          fail("read timed out");
        }
      } else {
        n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          if (idle_ok) return nullptr;
          fail("read timed out");
        }
      }
      if (n <= 0) fail("connection closed");
      if (redisReaderFeed(reader, chunk, static_cast<std::size_t>(n)) != REDIS_OK) fail("protocol error");
      if (reader->len - reader->pos > kMaxRedisReplyBytes) fail("reply larger than the limit");
    }
  }

  Reply command(std::initializer_list<std::string> args) {
    if (fd < 0) connect();
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) argv.push_back(a.data()), lens.push_back(a.size());
    char* formatted = nullptr;
    int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(), lens.data());
    if (length < 0) fail("cannot format a command");
    std::unique_ptr<char, void (*)(char*)> owned(formatted, redisFreeCommand);
    write_all(formatted, static_cast<std::size_t>(length));
    Reply reply = read_reply(false);
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string error(reply->str, reply->len);
      if (*args.begin() == "AUTH") fail("authentication refused: " + error);  // never the password
      throw std::runtime_error("redis: " + error);
    }
    return reply;
  }
};

RedisClient::RedisClient(RedisAddress address, std::chrono::milliseconds timeout) : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->timeout = timeout;
}

RedisClient::~RedisClient() = default;

std::optional<std::string> RedisClient::get(const std::string& key) {
  auto r = impl_->command({"GET", key});
  if (r->type == REDIS_REPLY_NIL) return std::nullopt;
  if (r->type != REDIS_REPLY_STRING) throw std::runtime_error("redis: GET " + key + " is not a string");
  return std::string(r->str, r->len);
}

void RedisClient::set(const std::string& key, const std::string& value) { impl_->command({"SET", key, value}); }

void RedisClient::publish(const std::string& channel, const std::string& message) {
  impl_->command({"PUBLISH", channel, message});
}

bool RedisClient::ping() noexcept {
  try {
    return impl_->command({"PING"})->type == REDIS_REPLY_STATUS;
  } catch (const std::exception&) {
    return false;
  }
}

void RedisClient::subscribe(const std::string& channel, const std::function<void(const std::string&)>& on_message,
                            const std::function<bool()>& stop) {
  impl_->command({"SUBSCRIBE", channel});
  while (!stop()) {
    Reply reply = impl_->read_reply(/*idle_ok=*/true);  // a timeout only means "no message yet"
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3 &&
        reply->element[2]->type == REDIS_REPLY_STRING)
      on_message(std::string(reply->element[2]->str, reply->element[2]->len));
  }
  impl_->drop();  // leave subscribed mode
}

}  // namespace toggle
