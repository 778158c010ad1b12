// Unit tests for libs/core auth.hpp: the key in an Authorization header, and KeyValidator against a
// fake auth-service served by toggle::Server on 127.0.0.1.
#include "toggle/core/auth.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "toggle/core/server.hpp"

namespace {

using namespace std::chrono_literals;
using toggle::KeyValidator;
using Verdict = toggle::KeyValidator::Verdict;

// ---------------------------------------------------------------------------------------------
// api_key_from_header

struct HeaderCase {
  const char* name;
  std::string header;
  std::string key;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const HeaderCase& c, std::ostream* os) { *os << c.name; }

const std::vector<HeaderCase> kHeaderCases = {
    {"Bearer", "Bearer k", "k"},
    {"LowercaseBearer", "bearer k", "k"},
    {"UppercaseBearerManySpaces", "BEARER   k", "k"},
    {"MixedCaseBearer", "BeArEr tm_key_abc", "tm_key_abc"},
    {"BareKey", "k", "k"},
    {"BareLongKey", "tm_key_0123456789abcdef", "tm_key_0123456789abcdef"},
    {"Empty", "", ""},
    {"OnlySpaces", "    ", ""},
    {"SurroundingSpacesBareKey", "  k  ", "k"},
    {"SurroundingSpacesBearer", "  Bearer k  ", "k"},
    {"KeyStartingWithBearerWord", "Bearerk", "Bearerk"},
    {"OtherScheme", "Basic dXNlcjpwYXNz", "Basic dXNlcjpwYXNz"},
};

class ApiKeyFromHeader : public testing::TestWithParam<HeaderCase> {};

TEST_P(ApiKeyFromHeader, ExtractsTheKey) {
  const auto& c = GetParam();
  EXPECT_EQ(toggle::api_key_from_header(c.header), c.key);
}

INSTANTIATE_TEST_SUITE_P(Cases, ApiKeyFromHeader, testing::ValuesIn(kHeaderCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ApiKeyFromHeaderTest, BearerWithTrailingSpaceAndNoKeyIsEmpty) {
  // Regression (fixed): api_key_from_header (auth.cpp:9-17) trims trailing spaces before looking for the
  // "bearer " prefix, so "Bearer " becomes "Bearer" and is returned as the key: a request with
  // an empty bearer token is checked with auth-service as key "Bearer" (401 "invalid or revoked")
  // instead of being refused locally as "missing API key".
  EXPECT_EQ(toggle::api_key_from_header("Bearer "), "");
  EXPECT_EQ(toggle::api_key_from_header("Bearer    "), "");
  EXPECT_EQ(toggle::api_key_from_header("  bearer  "), "");
}

// ---------------------------------------------------------------------------------------------
// KeyValidator against a fake auth-service

class FakeAuthService {
 public:
  FakeAuthService() {
    router_.any("/validate",
                [this](toggle::Request& req) -> toggle::Reply {
                  ++calls;
                  auto key = toggle::api_key_from_header(req.header("Authorization"));
                  if (key == "good") return toggle::Response{200, R"({"valid":true})"};
                  if (key == "down") return toggle::error_response(500, "database down");
                  return toggle::error_response(401, "invalid key");
                },
                {.blocking = false});
    toggle::ServerOptions opt;
    opt.host = "127.0.0.1";
    opt.io_threads = 1;
    opt.worker_threads = 1;
    server_ = std::make_unique<toggle::Server>(opt, router_);
    server_->start();
    url = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  ~FakeAuthService() { server_->stop(2s); }

  std::string url;
  std::atomic<int> calls{0};

 private:
  toggle::Router router_;
  std::unique_ptr<toggle::Server> server_;
};

// A Request whose headers come from a map (what the server's lookup does for real requests).
struct FakeRequest {
  std::map<std::string, std::string> headers;
  toggle::Request req;
  FakeRequest() {
    req.raw_headers = &headers;
    req.header_lookup = [](const void* raw, std::string_view name) -> std::string_view {
      auto& h = *static_cast<const std::map<std::string, std::string>*>(raw);
      auto it = h.find(std::string(name));
      return it == h.end() ? std::string_view{} : std::string_view(it->second);
    };
  }
};

int status_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const toggle::HttpError& e) {
    return e.status();
  }
  return 0;
}

TEST(KeyValidatorTest, ValidKeyIsCachedForItsTtl) {
  FakeAuthService auth;
  KeyValidator v(auth.url, 60s, 60s);
  EXPECT_FALSE(v.cached("good").has_value());
  EXPECT_EQ(v.validate("good"), Verdict::valid);
  EXPECT_EQ(v.validate("good"), Verdict::valid);
  EXPECT_EQ(auth.calls.load(), 1) << "the second check must come from the cache";
  EXPECT_EQ(v.cached("good"), Verdict::valid);
}

TEST(KeyValidatorTest, InvalidKeyIsCachedToo) {
  FakeAuthService auth;
  KeyValidator v(auth.url, 60s, 60s);
  EXPECT_EQ(v.validate("nope"), Verdict::invalid);
  EXPECT_EQ(v.validate("nope"), Verdict::invalid);
  EXPECT_EQ(auth.calls.load(), 1);
  EXPECT_EQ(v.cached("nope"), Verdict::invalid);
}

TEST(KeyValidatorTest, ExpiredEntriesAreAskedAgain) {
  FakeAuthService auth;
  KeyValidator v(auth.url, 0ms, 0ms);  // entries expire at once
  EXPECT_EQ(v.validate("good"), Verdict::valid);
  EXPECT_EQ(v.validate("good"), Verdict::valid);
  EXPECT_EQ(auth.calls.load(), 2);
  EXPECT_FALSE(v.cached("good").has_value());
}

TEST(KeyValidatorTest, AuthServiceErrorIsUnavailableAndNotCached) {
  FakeAuthService auth;
  KeyValidator v(auth.url, 60s, 60s);
  EXPECT_EQ(v.validate("down"), Verdict::unavailable);
  EXPECT_EQ(v.validate("down"), Verdict::unavailable);
  EXPECT_EQ(auth.calls.load(), 2);
  EXPECT_FALSE(v.cached("down").has_value());
}

TEST(KeyValidatorTest, EmptyKeyIsInvalidWithoutAsking) {
  FakeAuthService auth;
  KeyValidator v(auth.url);
  EXPECT_EQ(v.validate(""), Verdict::invalid);
  EXPECT_EQ(auth.calls.load(), 0);
}

TEST(KeyValidatorTest, UnreachableAuthServiceIsUnavailable) {
  std::string url;
  {
    FakeAuthService auth;  // take a free port, then close it
    url = auth.url;
  }
  KeyValidator v(url);
  EXPECT_EQ(v.validate("good"), Verdict::unavailable);
}

TEST(KeyValidatorTest, RequireAnswers401Or503) {
  FakeAuthService auth;
  KeyValidator v(auth.url);
  FakeRequest missing, bad, down, good, bearer_lower;
  bad.headers["Authorization"] = "Bearer nope";
  down.headers["Authorization"] = "Bearer down";
  good.headers["Authorization"] = "Bearer good";
  bearer_lower.headers["Authorization"] = "bearer good";
  EXPECT_EQ(status_of([&] { v.require(missing.req); }), 401);
  EXPECT_EQ(auth.calls.load(), 0) << "a missing key is refused without asking auth-service";
  EXPECT_EQ(status_of([&] { v.require(bad.req); }), 401);
  EXPECT_EQ(status_of([&] { v.require(down.req); }), 503);
  EXPECT_EQ(status_of([&] { v.require(good.req); }), 0);
  EXPECT_EQ(status_of([&] { v.require(bearer_lower.req); }), 0);
}

TEST(KeyValidatorTest, WithApiKeyRunsTheHandlerOnlyForAValidKey) {
  FakeAuthService auth;
  KeyValidator v(auth.url);
  int runs = 0;
  auto handler = toggle::with_api_key(v, [&](toggle::Request&) -> toggle::Reply {
    ++runs;
    return toggle::empty_response(204);
  });
  FakeRequest good, bad;
  good.headers["Authorization"] = "Bearer good";
  bad.headers["Authorization"] = "Bearer nope";
  auto reply = handler(good.req);
  EXPECT_EQ(std::get<toggle::Response>(reply).status, 204);
  EXPECT_EQ(status_of([&] { handler(bad.req); }), 401);
  EXPECT_EQ(runs, 1);
}

TEST(ThrowUnlessValid, MapsVerdictsToStatuses) {
  EXPECT_EQ(status_of([] { toggle::throw_unless_valid(Verdict::valid); }), 0);
  EXPECT_EQ(status_of([] { toggle::throw_unless_valid(Verdict::invalid); }), 401);
  EXPECT_EQ(status_of([] { toggle::throw_unless_valid(Verdict::unavailable); }), 503);
}

}  // namespace
