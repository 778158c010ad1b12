// Unit tests for libs/core auth.hpp: the key in an Authorization header, and KeyValidator against a
// fake auth-service served by toggle::Server on 127.0.0.1.
#include "toggle/core/auth.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "toggle/core/server.hpp"

namespace {

using namespace std::chrono_literals;
using toggle::KeyValidator;
using Verdict = toggle::KeyValidator::Verdict;
using toggle::Scope;

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
                  if (key == "good") return toggle::Response{200, R"({"valid":true,"scopes":["read","write"]})"};
                  if (key == "slow") {  // an auth-service under load
                    std::this_thread::sleep_for(300ms);
                    return toggle::Response{200, R"({"valid":true,"scopes":["read"]})"};
                  }
                  if (key == "old") return toggle::Response{200, R"({"valid":true})"};  // before scopes
                  if (key == "down" || key == "service-key")
                    return toggle::error_response(toggle::ErrorKind::internal, "internal", "database down");
                  return toggle::error_response(toggle::ErrorKind::unauthenticated, "invalid_key", "invalid key");
                },
                {.blocking = false});
    toggle::ServerOptions opt;
    opt.host = "127.0.0.1";
    opt.io_threads = 4;  // a validator without single-flight would send its checks in parallel
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

// The status a call fails with (0 if it does not), and its code.
std::pair<int, std::string> failure_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const toggle::Error& e) {
    return {toggle::http_status(e.kind()), e.code()};
  }
  return {0, ""};
}
int status_of(const std::function<void()>& fn) { return failure_of(fn).first; }

const toggle::ScopeSet kReadWrite{Scope::read, Scope::write};

// Eight requests with the same unseen key arriving together cost one call to auth-service, not
// eight: the others wait for the first one's answer.
TEST(KeyValidatorTest, ConcurrentChecksOfOneKeyShareOneCall) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "", 60s, 60s);
  std::vector<std::future<KeyValidator::Check>> checks;
  for (int i = 0; i < 8; ++i) checks.push_back(std::async(std::launch::async, [&] { return v.validate("slow"); }));
  for (auto& c : checks) EXPECT_EQ(c.get().verdict, Verdict::valid);
  EXPECT_EQ(auth.calls.load(), 1);
}

// The cache is bounded and evicts the least recently used key: a key in use stays cached while
// keys seen once (e.g. a flood of random ones) come and go.
TEST(KeyValidatorTest, TheCacheEvictsTheLeastRecentlyUsedKey) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "", 60s, 60s, /*capacity=*/2);
  EXPECT_EQ(v.validate("good").verdict, Verdict::valid);
  EXPECT_EQ(v.validate("random-1").verdict, Verdict::invalid);
  EXPECT_EQ(v.validate("good").verdict, Verdict::valid);  // used again: now the most recent
  EXPECT_EQ(v.validate("random-2").verdict, Verdict::invalid);  // evicts random-1, not good
  EXPECT_EQ(auth.calls.load(), 3);
  EXPECT_TRUE(v.cached("good").has_value());
  EXPECT_FALSE(v.cached("random-1").has_value());
  for (int i = 0; i < 100; ++i) v.validate("flood-" + std::to_string(i));
  EXPECT_EQ(v.validate("good").verdict, Verdict::valid);
  EXPECT_EQ(auth.calls.load(), 3 + 100 + 1) << "a flood costs the key in use at most one more call";
  EXPECT_TRUE(v.cached("good").has_value());
}

TEST(KeyValidatorTest, ValidKeyIsCachedForItsTtlWithItsScopes) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "", 60s, 60s);
  EXPECT_FALSE(v.cached("good").has_value());
  EXPECT_EQ(v.validate("good").verdict, Verdict::valid);
  EXPECT_EQ(v.validate("good").scopes, kReadWrite);
  EXPECT_EQ(auth.calls.load(), 1) << "the second check must come from the cache";
  EXPECT_EQ(v.cached("good")->verdict, Verdict::valid);
}

TEST(KeyValidatorTest, AnAuthServiceFromBeforeScopesGrantsTheDefaultScopes) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "");
  EXPECT_EQ(v.validate("old").scopes, toggle::default_scopes());
}

TEST(KeyValidatorTest, InvalidKeyIsCachedToo) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "", 60s, 60s);
  EXPECT_EQ(v.validate("nope").verdict, Verdict::invalid);
  EXPECT_EQ(v.validate("nope").verdict, Verdict::invalid);
  EXPECT_EQ(auth.calls.load(), 1);
  EXPECT_EQ(v.cached("nope")->verdict, Verdict::invalid);
}

TEST(KeyValidatorTest, ExpiredEntriesAreAskedAgain) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "", 0ms, 0ms);  // entries expire at once
  EXPECT_EQ(v.validate("good").verdict, Verdict::valid);
  EXPECT_EQ(v.validate("good").verdict, Verdict::valid);
  EXPECT_EQ(auth.calls.load(), 2);
  EXPECT_FALSE(v.cached("good").has_value());
}

TEST(KeyValidatorTest, AuthServiceErrorIsUnavailableAndNotCached) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "", 60s, 60s);
  EXPECT_EQ(v.validate("down").verdict, Verdict::unavailable);
  EXPECT_EQ(v.validate("down").verdict, Verdict::unavailable);
  EXPECT_EQ(auth.calls.load(), 2);
  EXPECT_FALSE(v.cached("down").has_value());
}

TEST(KeyValidatorTest, TheServiceKeyIsAcceptedLocallyOnlyWhileAuthServiceIsUnavailable) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "service-key");
  auto check = v.validate("service-key");  // the fake answers 500 for it: "unavailable"
  EXPECT_EQ(check.verdict, Verdict::valid);
  EXPECT_EQ(check.scopes, toggle::service_scopes());
  EXPECT_EQ(v.validate("down").verdict, Verdict::unavailable) << "other keys are not accepted blind";
  KeyValidator revoked(auth.url, "nope");  // auth-service answers 401 for it: revoked wins
  EXPECT_EQ(revoked.validate("nope").verdict, Verdict::invalid);
}

TEST(KeyValidatorTest, EmptyKeyIsInvalidWithoutAsking) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "");
  EXPECT_EQ(v.validate("").verdict, Verdict::invalid);
  EXPECT_EQ(auth.calls.load(), 0);
}

TEST(KeyValidatorTest, UnreachableAuthServiceIsUnavailable) {
  std::string url;
  {
    FakeAuthService auth;  // take a free port, then close it
    url = auth.url;
  }
  KeyValidator v(url, "");
  EXPECT_EQ(v.validate("good").verdict, Verdict::unavailable);
}

TEST(KeyValidatorTest, RequireAnswers401403Or503WithCodes) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "");
  FakeRequest missing, bad, down, good, bearer_lower, x_api_key;
  bad.headers["Authorization"] = "Bearer nope";
  down.headers["Authorization"] = "Bearer down";
  good.headers["Authorization"] = "Bearer good";
  bearer_lower.headers["Authorization"] = "bearer good";
  x_api_key.headers["X-API-Key"] = "good";
  using Failure = std::pair<int, std::string>;
  EXPECT_EQ(failure_of([&] { v.require(missing.req, Scope::read); }), (Failure{401, "missing_key"}));
  EXPECT_EQ(auth.calls.load(), 0) << "a missing key is refused without asking auth-service";
  EXPECT_EQ(failure_of([&] { v.require(bad.req, Scope::read); }), (Failure{401, "invalid_key"}));
  EXPECT_EQ(failure_of([&] { v.require(down.req, Scope::read); }), (Failure{503, "auth_unavailable"}));
  EXPECT_EQ(failure_of([&] { v.require(good.req, Scope::read); }), (Failure{0, ""}));
  EXPECT_EQ(failure_of([&] { v.require(bearer_lower.req, Scope::write); }), (Failure{0, ""}));
  EXPECT_EQ(failure_of([&] { v.require(x_api_key.req, Scope::read); }), (Failure{0, ""}));
  EXPECT_EQ(failure_of([&] { v.require(good.req, Scope::events); }), (Failure{403, "missing_scope"}));
}

TEST(KeyValidatorTest, WithApiKeyRunsTheHandlerOnlyForAValidKeyWithTheScope) {
  FakeAuthService auth;
  KeyValidator v(auth.url, "");
  int runs = 0;
  auto handler = [&](Scope scope) {
    return toggle::with_api_key(v, scope, [&](toggle::Request&) -> toggle::Reply {
      ++runs;
      return toggle::empty_response(204);
    });
  };
  FakeRequest good, bad;
  good.headers["Authorization"] = "Bearer good";
  bad.headers["Authorization"] = "Bearer nope";
  auto reply = handler(Scope::read)(good.req);
  EXPECT_EQ(std::get<toggle::Response>(reply).status, 204);
  EXPECT_EQ(status_of([&] { handler(Scope::read)(bad.req); }), 401);
  EXPECT_EQ(status_of([&] { handler(Scope::admin)(good.req); }), 403);
  EXPECT_EQ(runs, 1);
}

TEST(Scopes, ParseAndPrint) {
  for (Scope s : {Scope::admin, Scope::write, Scope::read, Scope::evaluate, Scope::events})
    EXPECT_EQ(toggle::parse_scope(toggle::to_string(s)), s);
  EXPECT_FALSE(toggle::parse_scope("root").has_value());
  EXPECT_EQ(toggle::scopes_json(kReadWrite), R"(["write","read"])");
  EXPECT_FALSE(toggle::default_scopes().has(Scope::events));
  EXPECT_FALSE(toggle::default_scopes().has(Scope::admin));
  EXPECT_TRUE(toggle::service_scopes().has(Scope::events));
}

}  // namespace
