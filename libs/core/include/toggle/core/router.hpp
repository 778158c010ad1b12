// Routes: a path pattern with `{param}` segments and, per method, a handler. A known path with an
// unknown method answers 405 with an Allow header; an unknown path answers 404.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "toggle/core/http.hpp"

namespace toggle {

struct RouteOptions {
  // Blocking handlers (storage, calls to other services) run on the worker pool so that the I/O
  // threads stay free; non-blocking ones (health, the evaluation hot path) run inline.
  bool blocking = true;
  // Largest accepted request body; 0 means the server's default (HTTP_MAX_BODY_BYTES).
  std::size_t body_limit = 0;
  // Callable from web pages of the origins in ServerOptions::cors_origins (preflights answered).
  bool cors = false;
  // A check of the request's headers (e.g. its API key) once they are read and before a body is.
  // Its reply, now or later (a Deferred), is `proceed()` to read the body and run the handler, or
  // a refusal, sent without reading the body (the connection then closes); throwing
  // toggle::Error refuses too. It runs where the handler would: on the worker pool for blocking
  // routes, inline (so it must not block) for the others. Skipped when the body came with the
  // headers: the handler must make the same check.
  std::function<Reply(const Request&)> before_body;
};

// The before_body verdict that lets the request go on.
inline Response proceed() { return Response{.status = 0}; }

class Router {
 public:
  // Registers `handler` for `method` on `pattern`, e.g. "/flags/{name}".
  void add(Method method, std::string_view pattern, Handler handler, RouteOptions options = {});
  void get(std::string_view p, Handler h, RouteOptions o = {}) { add(Method::get, p, std::move(h), o); }
  void post(std::string_view p, Handler h, RouteOptions o = {}) { add(Method::post, p, std::move(h), o); }
  void put(std::string_view p, Handler h, RouteOptions o = {}) { add(Method::put, p, std::move(h), o); }
  void patch(std::string_view p, Handler h, RouteOptions o = {}) { add(Method::patch, p, std::move(h), o); }
  void del(std::string_view p, Handler h, RouteOptions o = {}) { add(Method::delete_, p, std::move(h), o); }
  // The same handler for every method (the original's /validate accepts any).
  void any(std::string_view pattern, Handler handler, RouteOptions options = {});

  struct Endpoint {
    Handler handler;
    RouteOptions options;
  };
  struct Match {
    const Endpoint* endpoint = nullptr;  // null: see `allow`
    std::vector<std::pair<std::string_view, std::string_view>> params;
    std::string allow;  // when the path exists but not for this method: its methods (405, OPTIONS)
    bool cors = false;  // when the path exists: whether one of its routes allows CORS
  };
  // Finds the endpoint for a request path (not decoded, without query). HEAD finds the GET
  // endpoint (the server sends its headers without the body).
  Match match(Method method, std::string_view path) const;

 private:
  struct Route {
    std::vector<std::string> segments;  // "{x}" marks a parameter
    std::vector<std::pair<Method, Endpoint>> methods;
    std::optional<Endpoint> any;
  };
  Route& route_for(std::string_view pattern);
  std::vector<Route> routes_;
};

}  // namespace toggle
