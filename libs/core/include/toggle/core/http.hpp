// HTTP request and response as handlers see them. Deliberately free of Boost.Beast types so that
// service code compiles without the heavy headers; the server (server.cpp) adapts Beast to these.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "toggle/core/error.hpp"

namespace toggle {

enum class Method { get, head, post, put, patch, delete_, options, other };
std::string_view to_string(Method m);

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Allow, Retry-After
  bool close = false;                                        // close the connection after this reply
  // An error reply, {"error":…,"code":…}: the server adds the request's "request_id" to it.
  bool is_error = false;
};

// `{"error": message, "code": code}` with the status of `kind`.
Response error_response(ErrorKind kind, std::string_view code, std::string_view message);
Response error_response(const Error& error);
// An empty reply (204 and friends).
Response empty_response(int status);

class Request {
 public:
  Method method = Method::other;
  std::string_view target;  // as received: path and query
  std::string_view path;    // target up to '?', not decoded
  std::string_view query_string;
  std::string body;

  // Header value (case-insensitive name), empty when absent.
  std::string_view header(std::string_view name) const;
  // Decoded path parameter `{name}` of the matched route; throws Error{invalid} on bad %-encoding.
  std::string path_param(std::string_view name) const;
  // Decoded first value of a query parameter, or nullopt; throws Error{invalid} on bad %-encoding.
  std::optional<std::string> query(std::string_view key) const;

  // Set by the server and the router.
  using HeaderLookup = std::string_view (*)(const void* raw, std::string_view name);
  const void* raw_headers = nullptr;
  HeaderLookup header_lookup = nullptr;
  std::vector<std::pair<std::string_view, std::string_view>> params;  // raw path parameters
};

// Percent-decoding for paths and queries ('+' means space only in queries). nullopt if malformed.
std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space);

// Completes a deferred request: call it once, from any thread, with the reply. Copies share one
// reply slot; the first call wins. If every copy is dropped without a call, the client gets a 500.
class Responder {
 public:
  struct Slot {
    virtual ~Slot() = default;
    virtual void complete(Response response) = 0;
    virtual void on_abandon(std::function<void()>) {}  // a slot that cannot notice a client leave
  };
  explicit Responder(std::shared_ptr<Slot> slot) : slot_(std::move(slot)) {}
  void operator()(Response response) const { slot_->complete(std::move(response)); }

  // Runs `hook` if the client goes away while its reply is parked, so that the owner can drop
  // what the reply was waiting with (a long poll's place) at once rather than when it times out;
  // a later reply is then a cheap no-op. The hook runs at most once: on a server thread, or at
  // once on this thread if the client has gone already; one hook per reply. It never runs after
  // the Responder has been called (a call waits for a hook under way), so an owner that answers
  // all its replies before it goes cannot be called back afterwards. The hook may take the
  // owner's lock: call the Responder and on_abandon() without holding it.
  void on_abandon(std::function<void()> hook) const { slot_->on_abandon(std::move(hook)); }

 private:
  std::shared_ptr<Slot> slot_;
};

// A reply that is not ready yet: `start` is called with the Responder that will send it. It must
// return quickly: the server calls it on the connection's I/O thread. Used for blocking work
// offloaded to the worker pool, shared fetches and long polls.
struct Deferred {
  std::function<void(Responder)> start;
};

// What a handler returns: a reply now, or a reply later.
using Reply = std::variant<Response, Deferred>;
using Handler = std::function<Reply(Request&)>;

// Sends `reply` through `responder`: at once for a Response, when ready for a Deferred.
void reply_with(const Responder& responder, Reply reply);

}  // namespace toggle
