// What every service answers at the edge, on the real Apps: each error body is
// {"error":"…","code":"…","request_id":"…"} with the code clients branch on, every reply carries
// X-Request-Id (the same id as the body), HEAD is GET without a body, OPTIONS lists what a path
// allows, and the HTTP server's own refusals (too large, malformed) have codes too.
#include "harness.hpp"

namespace itest {
namespace {

struct ErrorCase {
  std::string what;  // for the failure message
  std::string method, url, key, body;
  int status;
  std::string code;
};

class ErrorsTest : public ::testing::Test {
 protected:
  Platform p;
  std::string reader = p.auth.create_key("reader", {"read"});
  std::string writer = p.auth.create_key("writer");

  void SetUp() override {
    p.flags.create("existing");
    auto rule = call("POST", p.targeting.url() + "/rules", kServiceKey,
                     R"({"flag_name":"existing","rules":{"type":"PERCENTAGE","value":5}})");
    ASSERT_EQ(rule.status, 201) << describe(rule);
  }

  // The case's reply: its status, its code, and the request id in its body and its header.
  void check(const ErrorCase& c) {
    SCOPED_TRACE(c.what + ": " + c.method + " " + c.url);
    std::vector<std::pair<std::string, std::string>> headers;
    if (!c.key.empty()) headers.emplace_back("Authorization", "Bearer " + c.key);
    auto reply = raw_call(c.method, c.url, headers, c.body);
    EXPECT_EQ(reply.status, c.status) << reply.describe();
    json body = body_of(reply.body);
    ASSERT_TRUE(body.is_object()) << reply.describe();
    EXPECT_EQ(body["code"], c.code) << reply.body;
    EXPECT_TRUE(body["error"].is_string() && !body["error"].get<std::string>().empty()) << reply.body;
    ASSERT_TRUE(body["request_id"].is_string()) << reply.body;
    std::string id = body["request_id"].get<std::string>();
    EXPECT_FALSE(id.empty());
    EXPECT_EQ(reply.header("X-Request-Id"), id) << "the header and the body name the same request";
    EXPECT_EQ(reply.header("Content-Type"), "application/json");
  }
};

TEST_F(ErrorsTest, AuthService) {
  const std::string u = p.auth.url();
  for (const auto& c : std::vector<ErrorCase>{
           {"no key", "POST", u + "/admin/keys", "", R"({"name":"x"})", 401, "missing_key"},
           {"wrong master key", "POST", u + "/admin/keys", "wrong", R"({"name":"x"})", 401, "invalid_key"},
           {"key without admin", "GET", u + "/admin/keys", writer, "", 403, "missing_scope"},
           {"malformed JSON", "POST", u + "/admin/keys", kMasterKey, "{", 400, "invalid_json"},
           {"no name", "POST", u + "/admin/keys", kMasterKey, "{}", 400, "missing_field"},
           {"bad scopes", "POST", u + "/admin/keys", kMasterKey, R"({"name":"x","scopes":["root"]})", 400,
            "invalid_field"},
           {"unknown key id", "DELETE", u + "/admin/keys/9999", kMasterKey, "", 404, "key_not_found"},
           {"bad key id", "DELETE", u + "/admin/keys/abc", kMasterKey, "", 400, "invalid_parameter"},
           {"revoked or unknown key", "GET", u + "/validate", "tm_key_unknown", "", 401, "invalid_key"},
           {"no such path", "GET", u + "/nowhere", "", "", 404, "not_found"},
           {"method", "PUT", u + "/admin/keys", kMasterKey, "{}", 405, "method_not_allowed"},
       })
    check(c);
}

TEST_F(ErrorsTest, FlagService) {
  const std::string u = p.flags.url();
  for (const auto& c : std::vector<ErrorCase>{
           {"no key", "GET", u + "/flags", "", "", 401, "missing_key"},
           {"invalid key", "GET", u + "/flags", "tm_key_unknown", "", 401, "invalid_key"},
           {"read-only key writes", "POST", u + "/flags", reader, R"({"name":"x"})", 403, "missing_scope"},
           {"unknown flag", "GET", u + "/flags/missing", writer, "", 404, "flag_not_found"},
           {"unknown flag", "DELETE", u + "/flags/missing", writer, "", 404, "flag_not_found"},
           {"duplicate", "POST", u + "/flags", writer, R"({"name":"existing"})", 409, "flag_exists"},
           {"bad name", "POST", u + "/flags", writer, R"({"name":"a b"})", 400, "invalid_flag_name"},
           {"bad field", "POST", u + "/flags", writer, R"({"name":"x","is_enabled":"yes"})", 400, "invalid_field"},
           {"no field", "PUT", u + "/flags/existing", writer, "{}", 400, "missing_field"},
           {"malformed JSON", "POST", u + "/flags", writer, "[", 400, "invalid_json"},
           {"bad since", "GET", u + "/changes?since=-1", writer, "", 400, "invalid_parameter"},
           {"body too large", "POST", u + "/flags", writer, std::string(70000, ' '), 413, "body_too_large"},
           {"method", "POST", u + "/flags/existing", writer, "{}", 405, "method_not_allowed"},
       })
    check(c);
}

TEST_F(ErrorsTest, TargetingService) {
  const std::string u = p.targeting.url();
  const std::string rule = R"("rules":{"type":"PERCENTAGE","value":5})";
  for (const auto& c : std::vector<ErrorCase>{
           {"no key", "GET", u + "/rules", "", "", 401, "missing_key"},
           {"read-only key writes", "DELETE", u + "/rules/existing", reader, "", 403, "missing_scope"},
           {"flag does not exist", "POST", u + "/rules", writer, R"({"flag_name":"ghost",)" + rule + "}", 404,
            "flag_not_found"},
           {"no rule", "GET", u + "/rules/ghost", writer, "", 404, "rule_not_found"},
           {"duplicate", "POST", u + "/rules", writer, R"({"flag_name":"existing",)" + rule + "}", 409,
            "rule_exists"},
           {"invalid rule", "POST", u + "/rules", writer,
            R"({"flag_name":"existing","rules":{"type":"PERCENTAGE","value":101}})", 400, "invalid_rule"},
           {"no rules", "POST", u + "/rules", writer, R"({"flag_name":"existing"})", 400, "missing_field"},
           {"bad flag name", "GET", u + "/rules/a%20b", writer, "", 400, "invalid_flag_name"},
       })
    check(c);
}

TEST_F(ErrorsTest, AnalyticsService) {
  const std::string u = p.analytics.url();
  const std::string event =
      R"({"event_id":"e1","user_id":"u","flag_name":"f","result":true,"timestamp":"2026-11-30T13:00:00Z"})";
  for (const auto& c : std::vector<ErrorCase>{
           {"no key", "POST", u + "/events", "", "[" + event + "]", 401, "missing_key"},
           {"invalid key", "POST", u + "/events", "tm_key_unknown", "[" + event + "]", 401, "invalid_key"},
           {"key without events", "POST", u + "/events", writer, "[" + event + "]", 403, "missing_scope"},
           {"bad timestamp", "POST", u + "/events", kServiceKey,
            R"([{"event_id":"e1","user_id":"u","flag_name":"f","result":true,"timestamp":"yesterday"}])", 400,
            "invalid_event"},
           {"not an array", "POST", u + "/events", kServiceKey, "{}", 400, "invalid_json"},
           {"bad limit", "GET", u + "/events?limit=0", reader, "", 400, "invalid_parameter"},
           {"no flag name", "GET", u + "/summary", reader, "", 400, "missing_parameter"},
       })
    check(c);
}

TEST_F(ErrorsTest, EvaluationService) {
  const std::string u = p.evaluation.url();
  for (const auto& c : std::vector<ErrorCase>{
           {"no user", "GET", u + "/evaluate?flag_name=f", "", "", 400, "missing_parameter"},
           {"bad user", "GET", u + "/evaluate?flag_name=f&user_id=a%0Ab", "", "", 400, "invalid_user_id"},
           {"bad flag", "GET", u + "/evaluate?flag_name=a%2Fb&user_id=u", "", "", 400, "invalid_flag_name"},
       })
    check(c);
  p.flags.stop();
  check({"flag-service down, flag unknown", "GET", u + "/evaluate?flag_name=unknown&user_id=u", "", "", 503,
         "flag_unavailable"});
}

TEST_F(ErrorsTest, TheServersOwnRefusals) {
  const std::string u = p.flags.url();
  check({"URI too long", "GET", u + "/flags/" + std::string(20000, 'x'), writer, "", 414, "uri_too_long"});
  auto headers = raw_call("GET", u + "/flags", {{"Authorization", "Bearer " + writer}, {"X-Big", std::string(20000, 'h')}});
  EXPECT_EQ(headers.status, 431) << headers.describe();
  EXPECT_EQ(field_of(headers.body, "code"), "headers_too_large");
  EXPECT_FALSE(field_of(headers.body, "request_id").empty()) << headers.body;
  EXPECT_EQ(headers.header("X-Request-Id"), field_of(headers.body, "request_id"));
  auto malformed = raw_call("GET", u + "/flags", {{"Not A Header Name", "x"}});
  EXPECT_EQ(malformed.status, 400) << malformed.describe();
  EXPECT_EQ(field_of(malformed.body, "code"), "malformed_request");
  EXPECT_FALSE(field_of(malformed.body, "request_id").empty()) << malformed.body;
  EXPECT_EQ(malformed.header("X-Request-Id"), field_of(malformed.body, "request_id"));
}

TEST_F(ErrorsTest, EveryReplyHasARequestIdAndAClientsOwnIsKept) {
  auto ok = raw_call("GET", p.flags.url() + "/flags", {{"Authorization", "Bearer " + writer}});
  ASSERT_EQ(ok.status, 200) << ok.describe();
  ASSERT_TRUE(ok.header("X-Request-Id"));
  EXPECT_FALSE(ok.header("X-Request-Id")->empty());
  auto again = raw_call("GET", p.flags.url() + "/flags", {{"Authorization", "Bearer " + writer}});
  EXPECT_NE(again.header("X-Request-Id"), ok.header("X-Request-Id")) << "one id per request";

  // A caller's own id (e.g. a trace across services) is kept, in the header and the error body.
  auto traced = raw_call("GET", p.flags.url() + "/flags/missing",
                         {{"Authorization", "Bearer " + writer}, {"X-Request-Id", "trace-42.a:b_c"}});
  EXPECT_EQ(traced.status, 404);
  EXPECT_EQ(traced.header("X-Request-Id"), "trace-42.a:b_c");
  EXPECT_EQ(field_of(traced.body, "request_id"), "trace-42.a:b_c");
  // One that is not a sane token is replaced.
  auto odd = raw_call("GET", p.flags.url() + "/flags/missing",
                      {{"Authorization", "Bearer " + writer}, {"X-Request-Id", "a b<script>"}});
  ASSERT_TRUE(odd.header("X-Request-Id"));
  EXPECT_NE(odd.header("X-Request-Id"), "a b<script>");
  EXPECT_EQ(field_of(odd.body, "request_id"), *odd.header("X-Request-Id"));
}

TEST_F(ErrorsTest, HeadIsGetWithoutABody) {
  auto get = raw_call("GET", p.flags.url() + "/flags/existing", {{"Authorization", "Bearer " + writer}});
  auto head = raw_call("HEAD", p.flags.url() + "/flags/existing", {{"Authorization", "Bearer " + writer}});
  ASSERT_EQ(get.status, 200) << get.describe();
  EXPECT_EQ(head.status, 200) << head.describe();
  EXPECT_TRUE(head.body.empty()) << head.body;
  EXPECT_EQ(head.header("Content-Length"), std::to_string(get.body.size()));
  EXPECT_EQ(head.header("Content-Type"), "application/json");

  auto validate = raw_call("HEAD", p.auth.url() + "/validate", {{"Authorization", "Bearer " + writer}});
  EXPECT_EQ(validate.status, 200);
  EXPECT_TRUE(validate.body.empty()) << validate.body;
  auto refused = raw_call("HEAD", p.auth.url() + "/validate", {{"Authorization", "Bearer tm_key_unknown"}});
  EXPECT_EQ(refused.status, 401);
  EXPECT_TRUE(refused.body.empty()) << refused.body;
  auto evaluate = raw_call("HEAD", p.evaluation.url() + "/evaluate?user_id=u&flag_name=existing");
  EXPECT_EQ(evaluate.status, 200);
  EXPECT_TRUE(evaluate.body.empty()) << evaluate.body;
}

TEST_F(ErrorsTest, OptionsListsWhatAPathAllows) {
  auto options = raw_call("OPTIONS", p.flags.url() + "/flags/existing");
  EXPECT_EQ(options.status, 204) << options.describe();
  ASSERT_TRUE(options.header("Allow"));
  for (const char* method : {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
    EXPECT_NE(options.header("Allow")->find(method), std::string::npos) << *options.header("Allow");
  auto refused = raw_call("POST", p.flags.url() + "/flags/existing", {{"Authorization", "Bearer " + writer}}, "{}");
  EXPECT_EQ(refused.status, 405);
  ASSERT_TRUE(refused.header("Allow"));
  EXPECT_NE(refused.header("Allow")->find("HEAD"), std::string::npos) << *refused.header("Allow");
  EXPECT_EQ(raw_call("OPTIONS", p.flags.url() + "/nowhere").status, 404);
}

TEST_F(ErrorsTest, ResponsesAreCountedByStatusCode) {
  ASSERT_EQ(call("GET", p.flags.url() + "/flags/missing", writer).status, 404);
  auto metrics = call("GET", p.flags.url() + "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("http_responses_total{code=\"404\"}"), std::string::npos) << metrics.body;
  EXPECT_NE(metrics.body.find("http_responses_total{code=\"200\"}"), std::string::npos) << metrics.body;
  EXPECT_EQ(metrics.body.find("code=\"4xx\""), std::string::npos) << "a code, not a class";
}

}  // namespace
}  // namespace itest
