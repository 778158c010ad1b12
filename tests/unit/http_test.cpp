// Unit tests for libs/core http.hpp: percent-decoding, Request's query and path parameters, the
// canned error and empty replies, and reply_with().
#include "toggle/core/http.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "toggle/core/json.hpp"

namespace {

using namespace std::string_literals;
using toggle::Error;
using toggle::ErrorKind;
using toggle::Request;

// ---------------------------------------------------------------------------------------------
// percent_decode

struct DecodeCase {
  const char* name;
  std::string input;
  bool plus_is_space;
  std::optional<std::string> expected;  // nullopt: malformed
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const DecodeCase& c, std::ostream* os) { *os << c.name; }

const std::vector<DecodeCase> kDecodeCases = {
    {"Empty", "", true, ""},
    {"Plain", "abc-._~", false, "abc-._~"},
    {"UpperHex", "%41%42%43", false, "ABC"},
    {"LowerHex", "%7e%2f", false, "~/"},
    {"MixedCaseHex", "%c3%A9", false, "\xc3\xa9"},
    {"EncodedSlashInPath", "a%2Fb", false, "a/b"},
    {"EncodedPercent", "100%25", true, "100%"},
    {"EncodedNul", "a%00b", false, "a\0b"s},
    {"PlusIsSpaceInQuery", "a+b+c", true, "a b c"},
    {"PlusStaysInPath", "a+b", false, "a+b"},
    {"EncodedPlusInQueryIsPlus", "a%2Bb", true, "a+b"},
    {"EncodedSpace", "a%20b", false, "a b"},
    {"EncodedAtEnd", "abc%21", false, "abc!"},
    {"LonePercent", "%", false, std::nullopt},
    {"TrailingPercent", "abc%", true, std::nullopt},
    {"TrailingPercentOneDigit", "abc%4", true, std::nullopt},
    {"NonHexFirstDigit", "%g1", false, std::nullopt},
    {"NonHexSecondDigit", "%4z", false, std::nullopt},
    {"NonHexBoth", "%zz", true, std::nullopt},
    {"DoublePercent", "%%41", false, std::nullopt},
    {"SignIsNotHex", "%+1", true, std::nullopt},
    {"SpaceIsNotHex", "% 1", true, std::nullopt},
    {"MalformedAfterValid", "%41%4", false, std::nullopt},
};

class PercentDecode : public testing::TestWithParam<DecodeCase> {};

TEST_P(PercentDecode, Decodes) {
  const auto& c = GetParam();
  EXPECT_EQ(toggle::percent_decode(c.input, c.plus_is_space), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, PercentDecode, testing::ValuesIn(kDecodeCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Request::query

struct QueryCase {
  const char* name;
  std::string query_string;
  std::string key;
  std::optional<std::string> expected;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const QueryCase& c, std::ostream* os) { *os << c.name; }

const std::vector<QueryCase> kQueryCases = {
    {"EmptyQueryString", "", "a", std::nullopt},
    {"Single", "a=1", "a", "1"},
    {"SecondOfTwo", "a=1&b=2", "b", "2"},
    {"FirstValueWins", "a=1&b=2&a=3", "a", "1"},
    {"AbsentKey", "a=1&b=2", "c", std::nullopt},
    {"KeyIsNotAPrefixMatch", "abc=1", "a", std::nullopt},
    {"ValueIsNotAKey", "x=a", "a", std::nullopt},
    {"EmptyValue", "a=&b=2", "a", ""},
    {"KeyWithoutEquals", "flag&b=2", "flag", ""},
    {"EmptyPairsSkipped", "&&a=1&", "a", "1"},
    {"ValueDecoded", "q=caf%C3%A9", "q", "caf\xc3\xa9"},
    {"PlusInValueIsSpace", "q=a+b", "q", "a b"},
    {"EncodedPlusInValue", "q=a%2Bb", "q", "a+b"},
    {"EncodedKey", "my%20key=v", "my key", "v"},
    {"PlusInKey", "my+key=v", "my key", "v"},
    {"EqualsInValueKept", "expr=a=b", "expr", "a=b"},
    {"MalformedValueOfAnotherKeyNotReached", "a=1&x=%zz", "a", "1"},
};

class RequestQuery : public testing::TestWithParam<QueryCase> {};

TEST_P(RequestQuery, ReturnsTheDecodedFirstValue) {
  const auto& c = GetParam();
  Request req;
  req.query_string = c.query_string;
  EXPECT_EQ(req.query(c.key), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Cases, RequestQuery, testing::ValuesIn(kQueryCases),
                         [](const auto& info) { return std::string(info.param.name); });

struct MalformedQueryCase {
  const char* name;
  std::string query_string;
  std::string key;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const MalformedQueryCase& c, std::ostream* os) { *os << c.name; }

const std::vector<MalformedQueryCase> kMalformedQueryCases = {
    {"MalformedValue", "a=%zz", "a"},
    {"TrailingPercentInValue", "a=50%", "a"},
    {"MalformedKeyBeforeTheWantedOne", "%zz=1&a=2", "a"},
    {"MalformedValueAfterEarlierPairs", "b=1&a=%4", "a"},
};

class RequestQueryMalformed : public testing::TestWithParam<MalformedQueryCase> {};

TEST_P(RequestQueryMalformed, Throws400) {
  const auto& c = GetParam();
  Request req;
  req.query_string = c.query_string;
  try {
    auto value = req.query(c.key);
    ADD_FAILURE() << "expected Error 400, got " << (value ? "'" + *value + "'" : "nullopt");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid);
    EXPECT_EQ(e.code(), "invalid_parameter");
    EXPECT_NE(std::string(e.what()), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, RequestQueryMalformed, testing::ValuesIn(kMalformedQueryCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Request::path_param and header

TEST(RequestPathParam, DecodesWithoutTreatingPlusAsSpace) {
  Request req;
  req.params = {{"name", "a%2Fb"}, {"other", "x+y"}};
  EXPECT_EQ(req.path_param("name"), "a/b");
  EXPECT_EQ(req.path_param("other"), "x+y");
}

TEST(RequestPathParam, AbsentParameterIsEmpty) {
  Request req;
  req.params = {{"name", "v"}};
  EXPECT_EQ(req.path_param("missing"), "");
}

TEST(RequestPathParam, MalformedEncodingThrows400) {
  Request req;
  req.params = {{"name", "bad%"}};
  try {
    req.path_param("name");
    ADD_FAILURE() << "expected Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid);
  }
}

TEST(RequestHeader, WithoutALookupEveryHeaderIsAbsent) {
  Request req;
  EXPECT_EQ(req.header("Authorization"), "");
}

TEST(RequestHeader, UsesTheServersLookup) {
  Request req;
  static const std::string kRaw = "token-123";
  req.raw_headers = &kRaw;
  req.header_lookup = [](const void* raw, std::string_view name) -> std::string_view {
    return name == "Authorization" ? std::string_view(*static_cast<const std::string*>(raw)) : std::string_view{};
  };
  EXPECT_EQ(req.header("Authorization"), "token-123");
  EXPECT_EQ(req.header("Other"), "");
}

// ---------------------------------------------------------------------------------------------
// error_response, empty_response, to_string

struct ErrorCase {
  const char* name;
  ErrorKind kind;
  int status;
  std::string code, message;
  std::string body;
};
// Named in test output and ctest instead of a byte dump.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

const std::vector<ErrorCase> kErrorCases = {
    {"NotFound", ErrorKind::not_found, 404, "flag_not_found", "no such flag",
     R"({"error":"no such flag","code":"flag_not_found"})"},
    {"Conflict", ErrorKind::conflict, 409, "flag_exists", "x", R"({"error":"x","code":"flag_exists"})"},
    {"EmptyMessage", ErrorKind::invalid, 400, "invalid_field", "", R"({"error":"","code":"invalid_field"})"},
    {"QuotesEscaped", ErrorKind::invalid, 400, "missing_field", R"(field "name" is required)",
     R"({"error":"field \"name\" is required","code":"missing_field"})"},
    {"ControlCharsEscaped", ErrorKind::internal, 500, "internal", "line1\nline2\x01",
     R"({"error":"line1\nline2\u0001","code":"internal"})"},
    {"Utf8Kept", ErrorKind::unavailable, 503, "x", "caf\xc3\xa9", "{\"error\":\"caf\xc3\xa9\",\"code\":\"x\"}"},
};

class ErrorResponse : public testing::TestWithParam<ErrorCase> {};

TEST_P(ErrorResponse, IsAJsonObjectWithTheMessageAndTheCode) {
  const auto& c = GetParam();
  auto r = toggle::error_response(c.kind, c.code, c.message);
  EXPECT_EQ(r.status, c.status);
  EXPECT_EQ(r.body, c.body);
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.headers.empty());
  EXPECT_FALSE(r.close);
  auto parsed = nlohmann::json::parse(r.body);
  EXPECT_EQ(parsed.at("error").get<std::string>(), c.message);
  EXPECT_EQ(parsed.at("code").get<std::string>(), c.code);
  auto from_error = toggle::error_response(Error(c.kind, c.code, c.message));
  EXPECT_EQ(from_error.body, r.body);
  EXPECT_EQ(from_error.status, r.status);
}

INSTANTIATE_TEST_SUITE_P(Cases, ErrorResponse, testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(HttpStatus, EveryKindHasItsStatus) {
  EXPECT_EQ(toggle::http_status(ErrorKind::invalid), 400);
  EXPECT_EQ(toggle::http_status(ErrorKind::unauthenticated), 401);
  EXPECT_EQ(toggle::http_status(ErrorKind::forbidden), 403);
  EXPECT_EQ(toggle::http_status(ErrorKind::not_found), 404);
  EXPECT_EQ(toggle::http_status(ErrorKind::method_not_allowed), 405);
  EXPECT_EQ(toggle::http_status(ErrorKind::conflict), 409);
  EXPECT_EQ(toggle::http_status(ErrorKind::too_large), 413);
  EXPECT_EQ(toggle::http_status(ErrorKind::uri_too_long), 414);
  EXPECT_EQ(toggle::http_status(ErrorKind::too_many_requests), 429);
  EXPECT_EQ(toggle::http_status(ErrorKind::headers_too_large), 431);
  EXPECT_EQ(toggle::http_status(ErrorKind::internal), 500);
  EXPECT_EQ(toggle::http_status(ErrorKind::unavailable), 503);
}

TEST(EmptyResponse, HasStatusAndNoBodyOrContentType) {
  for (int status : {204, 202, 304}) {
    auto r = toggle::empty_response(status);
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.content_type, "");
    EXPECT_TRUE(r.headers.empty());
  }
}

TEST(MethodToString, NamesEveryMethod) {
  using toggle::Method;
  EXPECT_EQ(toggle::to_string(Method::get), "GET");
  EXPECT_EQ(toggle::to_string(Method::head), "HEAD");
  EXPECT_EQ(toggle::to_string(Method::post), "POST");
  EXPECT_EQ(toggle::to_string(Method::put), "PUT");
  EXPECT_EQ(toggle::to_string(Method::patch), "PATCH");
  EXPECT_EQ(toggle::to_string(Method::delete_), "DELETE");
  EXPECT_EQ(toggle::to_string(Method::options), "OPTIONS");
  EXPECT_EQ(toggle::to_string(Method::other), "OTHER");
}

// ---------------------------------------------------------------------------------------------
// Responder and reply_with

struct Capture : toggle::Responder::Slot {
  int calls = 0;
  toggle::Response last;
  void complete(toggle::Response r) override {
    ++calls;
    last = std::move(r);
  }
};

TEST(ReplyWith, SendsAResponseAtOnce) {
  auto slot = std::make_shared<Capture>();
  toggle::reply_with(toggle::Responder(slot), toggle::error_response(ErrorKind::conflict, "x", "taken"));
  EXPECT_EQ(slot->calls, 1);
  EXPECT_EQ(slot->last.status, 409);
}

TEST(ReplyWith, StartsADeferredWithTheResponder) {
  auto slot = std::make_shared<Capture>();
  std::optional<toggle::Responder> kept;
  toggle::reply_with(toggle::Responder(slot), toggle::Deferred{[&](toggle::Responder r) { kept = r; }});
  EXPECT_EQ(slot->calls, 0) << "a Deferred answers only when its responder is called";
  ASSERT_TRUE(kept);
  (*kept)(toggle::empty_response(204));
  EXPECT_EQ(slot->calls, 1);
  EXPECT_EQ(slot->last.status, 204);
}

TEST(ReplyWith, AnErrorThrownByADeferredStartBecomesItsReply) {
  auto slot = std::make_shared<Capture>();
  toggle::reply_with(toggle::Responder(slot), toggle::Deferred{[](toggle::Responder) -> void {
                       throw Error::unavailable("busy", "busy");
                     }});
  EXPECT_EQ(slot->calls, 1);
  EXPECT_EQ(slot->last.status, 503);
  EXPECT_EQ(slot->last.body, R"({"error":"busy","code":"busy"})");
}

}  // namespace

// nesting_within(): the depth of arrays and objects, brackets inside strings not counted.
TEST(JsonNestingTest, CountsArraysAndObjectsButNotBracketsInStrings) {
  EXPECT_TRUE(toggle::nesting_within(R"({"a":[1,{"b":[]}]})", 4));
  EXPECT_FALSE(toggle::nesting_within(R"({"a":[1,{"b":[]}]})", 3));
  EXPECT_TRUE(toggle::nesting_within(R"({"a":"[[[[[[[[{{{{"})", 1));
  EXPECT_TRUE(toggle::nesting_within(R"({"a":"\"[[[["})", 1)) << "an escaped quote does not end the string";
  EXPECT_FALSE(toggle::nesting_within(std::string(100000, '['), 64));
  EXPECT_TRUE(toggle::nesting_within("", 0));
}
