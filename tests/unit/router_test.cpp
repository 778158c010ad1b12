// Unit tests for libs/core router.hpp: literal and {param} segments, 404, 405 with Allow, any().
#include "toggle/core/router.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace {

using toggle::Method;
using toggle::Reply;
using toggle::Request;
using toggle::Response;
using toggle::Router;
using Params = std::vector<std::pair<std::string, std::string>>;

// A handler that answers with its own name, so a test can tell which endpoint matched.
toggle::Handler named(std::string name) {
  return [name](Request&) -> Reply {
    Response r;
    r.body = name;
    return r;
  };
}

std::string call(const Router::Match& m) {
  Request req;
  auto reply = m.endpoint->handler(req);
  return std::get<Response>(reply).body;
}

Params params_of(const Router::Match& m) {
  Params out;
  for (auto& [k, v] : m.params) out.emplace_back(std::string(k), std::string(v));
  return out;
}

Router make_router() {
  Router r;
  r.get("/", named("root"));
  r.get("/health", named("health"));
  r.get("/flags", named("list-flags"));
  r.post("/flags", named("create-flag"));
  r.get("/flags/{name}", named("get-flag"));
  r.put("/flags/{name}", named("put-flag"));
  r.del("/flags/{name}", named("delete-flag"));
  r.any("/validate", named("validate"));
  r.get("/a/{x}/b/{y}", named("two-params"));
  r.patch("/rules/{flag_name}", named("patch-rule"));
  r.post("/only-post", named("only-post"));
  return r;
}

struct RouteCase {
  const char* name;
  Method method;
  std::string path;
  std::string handler;  // empty: no endpoint
  Params params;
  std::string allow;  // expected Allow list when the endpoint is absent
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const RouteCase& c, std::ostream* os) { *os << c.name; }

const std::vector<RouteCase> kRouteCases = {
    {"Root", Method::get, "/", "root", {}, ""},
    {"ExactPath", Method::get, "/health", "health", {}, ""},
    {"ExactPathSecondMethod", Method::post, "/flags", "create-flag", {}, ""},
    {"ParamCaptured", Method::get, "/flags/dark-mode", "get-flag", {{"name", "dark-mode"}}, ""},
    {"ParamKeptEncoded", Method::get, "/flags/a%2Fb", "get-flag", {{"name", "a%2Fb"}}, ""},
    {"ParamPerMethod", Method::put, "/flags/x", "put-flag", {{"name", "x"}}, ""},
    {"DeleteMethod", Method::delete_, "/flags/x", "delete-flag", {{"name", "x"}}, ""},
    {"TwoParams", Method::get, "/a/1/b/2", "two-params", {{"x", "1"}, {"y", "2"}}, ""},
    {"ParamNameWithUnderscore", Method::patch, "/rules/f1", "patch-rule", {{"flag_name", "f1"}}, ""},
    {"UnknownPath", Method::get, "/nope", "", {}, ""},
    {"UnknownPathWithKnownPrefix", Method::get, "/healthz", "", {}, ""},
    {"PathIsCaseSensitive", Method::get, "/HEALTH", "", {}, ""},
    {"TrailingSlashOnLiteral", Method::get, "/health/", "", {}, ""},
    {"TrailingSlashAfterParam", Method::get, "/flags/x/", "", {}, ""},
    {"EmptyParamSegment", Method::get, "/flags/", "", {}, ""},
    {"EmptyFirstOfTwoParams", Method::get, "/a//b/2", "", {}, ""},
    {"EmptyLastOfTwoParams", Method::get, "/a/1/b/", "", {}, ""},
    {"ExtraSegment", Method::get, "/flags/x/y", "", {}, ""},
    {"DoubleSlashRoot", Method::get, "//", "", {}, ""},
    {"LiteralMismatchBetweenParams", Method::get, "/a/1/c/2", "", {}, ""},
    {"MethodNotAllowedOnParamRoute", Method::post, "/flags/x", "", {}, "GET, HEAD, PUT, DELETE"},
    {"MethodNotAllowedOnLiteral", Method::delete_, "/health", "", {}, "GET, HEAD"},
    {"MethodNotAllowedListsBoth", Method::put, "/flags", "", {}, "GET, HEAD, POST"},
    {"HeadIsAnsweredAsGet", Method::head, "/health", "health", {}, ""},
    {"HeadWithParams", Method::head, "/flags/x", "get-flag", {{"name", "x"}}, ""},
    {"HeadWithoutGetIsNotAllowed", Method::head, "/only-post", "", {}, "POST"},
    {"OtherMethod", Method::other, "/flags", "", {}, "GET, HEAD, POST"},
};

class RouterMatch : public testing::TestWithParam<RouteCase> {};

TEST_P(RouterMatch, FindsTheEndpoint) {
  static const Router router = make_router();
  const auto& c = GetParam();
  auto m = router.match(c.method, c.path);
  if (c.handler.empty()) {
    EXPECT_EQ(m.endpoint, nullptr);
    EXPECT_EQ(m.allow, c.allow);
    EXPECT_TRUE(m.params.empty());
  } else {
    ASSERT_NE(m.endpoint, nullptr);
    EXPECT_EQ(call(m), c.handler);
    EXPECT_EQ(params_of(m), c.params);
    EXPECT_EQ(m.allow, "");
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, RouterMatch, testing::ValuesIn(kRouteCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RouterAny, MatchesEveryMethod) {
  Router router = make_router();
  for (Method m : {Method::get, Method::head, Method::post, Method::put, Method::patch, Method::delete_,
                   Method::options, Method::other}) {
    auto match = router.match(m, "/validate");
    ASSERT_NE(match.endpoint, nullptr) << toggle::to_string(m);
    EXPECT_EQ(call(match), "validate");
    EXPECT_EQ(match.allow, "");
  }
}

TEST(RouterAny, SpecificMethodTakesPrecedenceOverAny) {
  Router router;
  router.any("/x", named("any"));
  router.post("/x", named("post"));
  EXPECT_EQ(call(router.match(Method::post, "/x")), "post");
  EXPECT_EQ(call(router.match(Method::get, "/x")), "any");
}

TEST(RouterAny, AnyOnParamRouteCapturesParams) {
  Router router;
  router.any("/items/{id}", named("item"));
  auto m = router.match(Method::options, "/items/42");
  ASSERT_NE(m.endpoint, nullptr);
  EXPECT_EQ(params_of(m), (Params{{"id", "42"}}));
}

TEST(RouterOptions, AreKeptPerEndpoint) {
  Router router;
  router.get("/fast", named("fast"), {.blocking = false});
  router.post("/upload", named("upload"), {.blocking = true, .body_limit = 1 << 20});
  router.get("/default", named("default"));
  auto fast = router.match(Method::get, "/fast");
  auto upload = router.match(Method::post, "/upload");
  auto def = router.match(Method::get, "/default");
  ASSERT_TRUE(fast.endpoint && upload.endpoint && def.endpoint);
  EXPECT_FALSE(fast.endpoint->options.blocking);
  EXPECT_EQ(fast.endpoint->options.body_limit, 0u);
  EXPECT_TRUE(upload.endpoint->options.blocking);
  EXPECT_EQ(upload.endpoint->options.body_limit, 1u << 20);
  EXPECT_TRUE(def.endpoint->options.blocking) << "routes block by default";
}

TEST(RouterRegistration, SamePatternRegisteredTwiceSharesOneRoute) {
  Router router;
  router.get("/x/{id}", named("get"));
  router.del("/x/{id}", named("del"));
  EXPECT_EQ(call(router.match(Method::get, "/x/1")), "get");
  EXPECT_EQ(call(router.match(Method::delete_, "/x/1")), "del");
  EXPECT_EQ(router.match(Method::post, "/x/1").allow, "GET, HEAD, DELETE");
}

TEST(RouterRegistration, LiteralRouteReachableNextToAParamRouteOfTheSameShape) {
  // Regression (fixed): Router::match (router.cpp:59-76) stops at the first pattern whose segments match the
  // path. With GET /flags/{name} registered before POST /flags/bulk, POST /flags/bulk answers
  // 405 (Allow: GET) although a POST handler exists for exactly that path.
  Router router;
  router.get("/flags/{name}", named("get-flag"));
  router.post("/flags/bulk", named("bulk"));
  auto m = router.match(Method::post, "/flags/bulk");
  ASSERT_NE(m.endpoint, nullptr) << "allow=" << m.allow;
  EXPECT_EQ(call(m), "bulk");
}

TEST(RouterEmpty, EverythingIs404) {
  Router router;
  auto m = router.match(Method::get, "/");
  EXPECT_EQ(m.endpoint, nullptr);
  EXPECT_EQ(m.allow, "");
}

}  // namespace
