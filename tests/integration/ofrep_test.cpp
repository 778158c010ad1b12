// OFREP on evaluation-service (POST /ofrep/v1/evaluate/flags[/{key}], docs: services/evaluation-service/
// ofrep_api.hpp), on the real App following real flag-, targeting- and auth-services, its events
// stored by the real analytics-service.
//
// Flags of other types than boolean (string, number, object) are given to the running App's
// catalog as flag-service's change feed gives them (a delta naming the flag), next to the flags
// created through the services.
#include <set>

#include "harness.hpp"
#include "toggle/core/server.hpp"
#include "toggle/rules/hash.hpp"

namespace itest {
namespace {

// An OFREP reply: status, headers, and the body as JSON.
struct Ofrep {
  RawReply raw;
  json body;
  int status() const { return raw.status; }
};

class OfrepTest : public ::testing::Test {
 protected:
  explicit OfrepTest(const EvaluationService::Adjust& adjust = {}) : p(adjust) {}

  Platform p;
  std::string admin = p.auth.create_key("admin");

  Ofrep post(const std::string& path, const std::string& body,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    Ofrep r{raw_call("POST", p.evaluation.url() + path, headers, body), {}};
    r.body = body_of(r.raw.body);
    return r;
  }
  Ofrep flag(const std::string& key, const json& context,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    return post("/ofrep/v1/evaluate/flags/" + key, json{{"context", context}}.dump(), std::move(headers));
  }
  Ofrep bulk(const json& context, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return post("/ofrep/v1/evaluate/flags", json{{"context", context}}.dump(), std::move(headers));
  }

  void create_flag(const std::string& name, bool enabled = true) {
    auto res = call("POST", p.flags.url() + "/flags", admin, json{{"name", name}, {"is_enabled", enabled}}.dump());
    ASSERT_EQ(res.status, 201) << describe(res);
  }
  void set_flag(const std::string& name, bool enabled) {
    auto res = call("PUT", p.flags.url() + "/flags/" + name, admin, json{{"is_enabled", enabled}}.dump());
    ASSERT_EQ(res.status, 200) << describe(res);
  }
  void create_rule(const std::string& flag, const json& rules) {
    auto res = call("POST", p.targeting.url() + "/rules", admin, json{{"flag_name", flag}, {"rules", rules}}.dump());
    ASSERT_EQ(res.status, 201) << describe(res);
  }
  void create_segment(const std::string& name, const json& conditions) {
    auto res =
        call("POST", p.targeting.url() + "/segments", admin, json{{"name", name}, {"conditions", conditions}}.dump());
    ASSERT_EQ(res.status, 201) << describe(res);
  }
  // A flag with a variant part, as flag-service's feed sends it (see the file comment); its rule
  // record too when `rules` is not null.
  void give_typed_flag(const std::string& name, const json& variant_part, const json& rules = nullptr) {
    json item = variant_part;
    item["name"] = name;
    item["is_enabled"] = true;
    ASSERT_TRUE(eventually([&] { return p.evaluation.catalog().complete(); }));
    p.evaluation.catalog().apply_flag_changes(
        {{"epoch", "e"}, {"version", 1}, {"full", false}, {"flags", {item}}, {"deleted", json::array()}});
    if (!rules.is_null())
      p.evaluation.catalog().apply_rule_changes(
          {{"epoch", "e"},
           {"version", 1},
           {"full", false},
           {"rules", {{{"flag_name", name}, {"is_enabled", true}, {"rules", rules}}}},
           {"deleted", json::array()}});
  }
  // Waits until the catalog holds `flag` (with targeting or not), without evaluating it.
  bool catalog_has(const std::string& flag, bool with_targeting) {
    return eventually([&] {
      if (!p.evaluation.catalog().complete()) return false;
      const auto* entry = p.evaluation.catalog().snapshot()->find(flag);
      return entry && entry->targeting.has_value() == with_targeting;
    });
  }
  // Waits until a single evaluation answers `reason`.
  bool reason_becomes(const std::string& key, const json& context, const std::string& reason) {
    return eventually([&] { return flag(key, context).body.value("reason", "") == reason; });
  }
};

json success(const std::string& key, const json& value, const std::string& variant, const std::string& reason,
             const json& metadata = json::object()) {
  return {{"key", key}, {"value", value}, {"variant", variant}, {"reason", reason}, {"metadata", metadata}};
}
json failure(const std::string& key, const std::string& code) { return {{"key", key}, {"errorCode", code}}; }
// The body without errorDetails (free text), to compare the rest exactly.
json without_details(json body) {
  if (body.is_object()) body.erase("errorDetails");
  return body;
}

const json kUser = {{"targetingKey", "user-123"}};

TEST_F(OfrepTest, EachReason) {
  create_flag("static");
  create_flag("disabled", false);
  create_flag("targeted");
  create_rule(
      "targeted",
      json::array({{{"name", "staff get off"},
                    {"conditions", {{{"attribute", "email"}, {"operator", "ends_with"}, {"value", "@acme.com"}}}},
                    {"serve", {{"variant", "off"}}}}}));
  create_flag("split");
  create_rule(
      "split",
      json::array(
          {{{"serve", {{"split", {{{"variant", "on"}, {"weight", 5000}}, {{"variant", "off"}, {"weight", 5000}}}}}}}}));
  ASSERT_TRUE(catalog_has("targeted", true));
  ASSERT_TRUE(catalog_has("split", true));

  auto s = flag("static", kUser);
  EXPECT_EQ(s.status(), 200) << s.raw.describe();
  EXPECT_EQ(s.body, success("static", true, "on", "STATIC"));
  EXPECT_EQ(s.raw.header("Content-Type"), "application/json");
  EXPECT_EQ(flag("disabled", kUser).body, success("disabled", false, "off", "DISABLED"));
  EXPECT_EQ(flag("targeted", {{"targetingKey", "u1"}, {"email", "ann@acme.com"}}).body,
            success("targeted", false, "off", "TARGETING_MATCH", {{"rule", "staff get off"}}));
  EXPECT_EQ(flag("targeted", {{"targetingKey", "u1"}, {"email", "ann@example.com"}}).body,
            success("targeted", true, "on", "DEFAULT"));
  EXPECT_EQ(flag("targeted", json::object()).body, success("targeted", true, "on", "DEFAULT"))
      << "no targetingKey needed when no split decides";

  // The split: murmur3 buckets of "split:<key>", 0-4999 "on", 5000-9999 "off".
  std::set<std::string> served;
  for (int i = 0; i < 20; ++i) {
    std::string key = "user-" + std::to_string(i);
    bool on = toggle::rules::split_bucket("split", key) < 5000;
    EXPECT_EQ(flag("split", {{"targetingKey", key}}).body, success("split", on, on ? "on" : "off", "SPLIT")) << key;
    served.insert(on ? "on" : "off");
  }
  EXPECT_EQ(served.size(), 2u) << "20 keys land on both sides";
}

TEST_F(OfrepTest, LegacyRulesKeepTheirBuckets) {
  create_flag("enable-new-dashboard");
  create_rule("enable-new-dashboard", {{"type", "PERCENTAGE"}, {"value", 50}});
  create_flag("beta");
  create_rule("beta", {{"type", "USER_LIST"}, {"values", json::array({"alice"})}});
  ASSERT_TRUE(catalog_has("enable-new-dashboard", true));
  ASSERT_TRUE(catalog_has("beta", true));
  EXPECT_EQ(flag("enable-new-dashboard", {{"targetingKey", "user-123"}}).body,
            success("enable-new-dashboard", true, "on", "SPLIT"))
      << "bucket 25 < 50";
  EXPECT_EQ(flag("enable-new-dashboard", {{"targetingKey", "user-abc"}}).body,
            success("enable-new-dashboard", false, "off", "SPLIT"))
      << "bucket 71";
  EXPECT_EQ(flag("beta", {{"targetingKey", "alice"}}).body, success("beta", true, "on", "TARGETING_MATCH"));
  EXPECT_EQ(flag("beta", {{"targetingKey", "bob"}}).body, success("beta", false, "off", "DEFAULT"));
  // /evaluate answers the same.
  EXPECT_EQ(body_of(p.evaluation.evaluate("user-123", "enable-new-dashboard"))["result"], true);
  EXPECT_EQ(body_of(p.evaluation.evaluate("user-abc", "enable-new-dashboard"))["result"], false);
}

TEST_F(OfrepTest, StringNumberAndObjectValues) {
  give_typed_flag("color",
                  {{"type", "string"},
                   {"variants", {{"blue", "#0000ff"}, {"red", "#ff0000"}, {"grey", "#888888"}}},
                   {"default_variant", "blue"},
                   {"off_variant", "grey"}},
                  json::array({{{"name", "pro"},
                                {"conditions", {{{"attribute", "plan"}, {"operator", "eq"}, {"value", "pro"}}}},
                                {"serve", {{"variant", "red"}}}}}));
  give_typed_flag("limit", {{"type", "number"},
                            {"variants", {{"low", 10}, {"high", 2.5}}},
                            {"default_variant", "low"},
                            {"off_variant", "low"}});
  give_typed_flag("config",
                  {{"type", "object"},
                   {"variants", {{"v1", {{"limit", 10}, {"tags", json::array({"a"})}}}, {"none", json::object()}}},
                   {"default_variant", "v1"},
                   {"off_variant", "none"}});
  EXPECT_EQ(flag("color", kUser).body, success("color", "#0000ff", "blue", "DEFAULT"));
  EXPECT_EQ(flag("color", {{"targetingKey", "u"}, {"plan", "pro"}}).body,
            success("color", "#ff0000", "red", "TARGETING_MATCH", {{"rule", "pro"}}));
  EXPECT_EQ(flag("limit", kUser).body, success("limit", 10, "low", "STATIC"));
  EXPECT_EQ(flag("config", kUser).body,
            success("config", {{"limit", 10}, {"tags", json::array({"a"})}}, "v1", "STATIC"));

  // /evaluate's result for another type: whether a variant other than the default and off ones
  // was served (the three-field answer unchanged).
  auto plain = p.evaluation.evaluate("u", "color");
  EXPECT_EQ(plain.body, R"({"flag_name":"color","user_id":"u","result":false})");
  EXPECT_EQ(body_of(p.evaluation.evaluate("u", "limit"))["result"], false);
}

TEST_F(OfrepTest, EachErrorCode) {
  create_flag("split");
  create_rule("split",
              json::array({
                  {{"serve",
                    {{"split", {{{"variant", "on"}, {"weight", 5000}}, {{"variant", "off"}, {"weight", 5000}}}},
                     {"by", "company"}}}},
              }));
  create_flag("keyed");
  create_rule("keyed", {{"type", "PERCENTAGE"}, {"value", 50}});
  ASSERT_TRUE(catalog_has("split", true));
  ASSERT_TRUE(catalog_has("keyed", true));

  auto missing = flag("no-such-flag", kUser);
  EXPECT_EQ(missing.status(), 404) << missing.raw.describe();
  EXPECT_EQ(missing.body, json({{"key", "no-such-flag"},
                                {"errorCode", "FLAG_NOT_FOUND"},
                                {"errorDetails", "Flag 'no-such-flag' was not found"}}));
  auto invalid_name = post("/ofrep/v1/evaluate/flags/a%20b", R"({"context":{}})");
  EXPECT_EQ(invalid_name.status(), 404) << invalid_name.raw.describe();
  EXPECT_EQ(without_details(invalid_name.body), failure("a b", "FLAG_NOT_FOUND"));

  struct Case {
    std::string body, code, details_part;
  };
  for (const auto& c : std::vector<Case>{{"", "PARSE_ERROR", "empty"},
                                         {"{\"context\":", "PARSE_ERROR", "not valid JSON"},
                                         {"[]", "INVALID_CONTEXT", "JSON object"},
                                         {"{}", "INVALID_CONTEXT", "context: required"},
                                         {R"({"context":null})", "INVALID_CONTEXT", "context: must be an object"},
                                         {R"({"context":"user-1"})", "INVALID_CONTEXT", "context: must be an object"},
                                         {R"({"context":{"targetingKey":42}})", "INVALID_CONTEXT", "targetingKey"}}) {
    SCOPED_TRACE(c.body);
    auto r = post("/ofrep/v1/evaluate/flags/keyed", c.body);
    EXPECT_EQ(r.status(), 400) << r.raw.describe();
    EXPECT_EQ(without_details(r.body), failure("keyed", c.code));
    EXPECT_NE(r.body.value("errorDetails", "").find(c.details_part), std::string::npos) << r.raw.body;
  }

  auto no_key = flag("keyed", json::object());
  EXPECT_EQ(no_key.status(), 400);
  EXPECT_EQ(without_details(no_key.body), failure("keyed", "TARGETING_KEY_MISSING"));
  auto no_attribute = flag("split", kUser);
  EXPECT_EQ(no_attribute.status(), 400);
  EXPECT_EQ(without_details(no_attribute.body), failure("split", "INVALID_CONTEXT"));
  EXPECT_NE(no_attribute.body.value("errorDetails", "").find("company"), std::string::npos) << no_attribute.raw.body;
  EXPECT_EQ(flag("split", {{"company", "acme"}}).status(), 200) << "bucketed by company, no targetingKey needed";

  // GENERAL: the rules serve a variant the flag no longer has.
  give_typed_flag(
      "renamed",
      {{"type", "string"}, {"variants", {{"a", "A"}, {"b", "B"}}}, {"default_variant", "a"}, {"off_variant", "a"}},
      json::array({{{"serve", {{"variant", "c"}}}}}));
  auto general = flag("renamed", kUser);
  EXPECT_EQ(general.status(), 400);
  EXPECT_EQ(without_details(general.body), failure("renamed", "GENERAL"));

  // PARSE_ERROR: targeting that cannot be read. /evaluate answers false, never true.
  give_typed_flag("unreadable", json::object(), json::array({{{"serve", {{"variant", "on"}}}, {"when", 1}}}));
  auto parse = flag("unreadable", kUser);
  EXPECT_EQ(parse.status(), 400);
  EXPECT_EQ(without_details(parse.body), failure("unreadable", "PARSE_ERROR"));
  EXPECT_EQ(body_of(p.evaluation.evaluate("user-123", "unreadable"))["result"], false);
}

TEST_F(OfrepTest, BulkWithETag) {
  create_flag("b-on");
  create_flag("a-off", false);
  create_flag("enable-new-dashboard");
  create_rule("enable-new-dashboard", {{"type", "PERCENTAGE"}, {"value", 50}});  // user-123: 25, user-abc: 71
  ASSERT_TRUE(catalog_has("enable-new-dashboard", true));

  auto first = bulk(kUser);
  ASSERT_EQ(first.status(), 200) << first.raw.describe();
  EXPECT_EQ(first.body, json({{"flags",
                               {success("a-off", false, "off", "DISABLED"), success("b-on", true, "on", "STATIC"),
                                success("enable-new-dashboard", true, "on", "SPLIT")}}}))
      << "every flag, by name";
  auto etag = first.raw.header("ETag");
  ASSERT_TRUE(etag);
  EXPECT_EQ(etag->front(), '"');

  // Unchanged: 304 without a body, for the tag as sent, weak, in a list, or *.
  for (std::string inm : {*etag, "W/" + *etag, "\"x\", " + *etag, std::string("*")}) {
    auto again = bulk(kUser, {{"If-None-Match", inm}});
    EXPECT_EQ(again.status(), 304) << inm << ": " << again.raw.describe();
    EXPECT_TRUE(again.raw.body.empty());
    EXPECT_EQ(again.raw.header("ETag"), etag);
  }
  EXPECT_EQ(bulk(kUser, {{"If-None-Match", "\"other\""}}).status(), 200);

  // Another context is another answer.
  auto other = bulk({{"targetingKey", "user-abc"}}, {{"If-None-Match", *etag}});
  EXPECT_EQ(other.status(), 200);
  EXPECT_EQ(other.body["flags"][2], success("enable-new-dashboard", false, "off", "SPLIT"));
  EXPECT_NE(other.raw.header("ETag"), etag);

  // Per-flag errors inside a 200.
  auto keyless = bulk(json::object());
  EXPECT_EQ(keyless.status(), 200);
  EXPECT_EQ(without_details(keyless.body["flags"][2]), failure("enable-new-dashboard", "TARGETING_KEY_MISSING"));

  // A flag changes: a new answer and a new ETag.
  set_flag("b-on", false);
  ASSERT_TRUE(eventually([&] { return bulk(kUser, {{"If-None-Match", *etag}}).status() == 200; }));
  auto changed = bulk(kUser, {{"If-None-Match", *etag}});
  EXPECT_EQ(changed.body["flags"][1], success("b-on", false, "off", "DISABLED"));
  EXPECT_NE(changed.raw.header("ETag"), etag);

  // The request as a whole: 400 without a key.
  auto bad = post("/ofrep/v1/evaluate/flags", "{");
  EXPECT_EQ(bad.status(), 400);
  EXPECT_EQ(without_details(bad.body), json({{"errorCode", "PARSE_ERROR"}}));
  auto bad_context = post("/ofrep/v1/evaluate/flags", R"({"context":{"targetingKey":["a"]}})");
  EXPECT_EQ(bad_context.status(), 400);
  EXPECT_EQ(without_details(bad_context.body), json({{"errorCode", "INVALID_CONTEXT"}}));
}

TEST_F(OfrepTest, ASegmentChangeReachesEvaluation) {
  create_segment("staff", json::array({{{"attribute", "email"}, {"operator", "ends_with"}, {"value", "@acme.com"}}}));
  create_flag("internal");
  create_rule("internal",
              json::array({{{"conditions", {{{"operator", "in_segment"}, {"values", json::array({"staff"})}}}},
                            {"serve", {{"variant", "off"}}}}}));
  ASSERT_TRUE(catalog_has("internal", true));
  const json ann = {{"targetingKey", "ann"}, {"email", "ann@acme.com"}};
  const json bob = {{"targetingKey", "bob"}, {"email", "bob@example.com"}};
  EXPECT_TRUE(reason_becomes("internal", ann, "TARGETING_MATCH"));
  EXPECT_EQ(flag("internal", bob).body, success("internal", true, "on", "DEFAULT"));

  auto res = call(
      "PUT", p.targeting.url() + "/segments/staff", admin,
      json{{"conditions", {{{"attribute", "email"}, {"operator", "ends_with"}, {"value", "@example.com"}}}}}.dump());
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_TRUE(reason_becomes("internal", bob, "TARGETING_MATCH")) << "the segment's change was pushed";
  EXPECT_EQ(flag("internal", ann).body, success("internal", true, "on", "DEFAULT"));
  EXPECT_EQ(p.evaluation.catalog().snapshot()->segments.size(), 1u);
}

TEST_F(OfrepTest, EventsCarryTheVariantAndTheReason) {
  create_flag("tracked");
  create_rule("tracked", {{"type", "USER_LIST"}, {"values", json::array({"alice"})}});
  ASSERT_TRUE(catalog_has("tracked", true));
  EXPECT_EQ(flag("tracked", {{"targetingKey", "alice"}}).status(), 200);
  EXPECT_EQ(flag("tracked", {{"targetingKey", "bob"}}).status(), 200);
  EXPECT_EQ(flag("tracked", {{"plan", "free"}}).status(), 200) << "anonymous";
  EXPECT_EQ(flag("no-such-flag", kUser).status(), 404);
  EXPECT_EQ(bulk(kUser).status(), 200);
  ASSERT_TRUE(eventually([&] { return p.analytics.store().recent(std::string("tracked"), 10).size() == 3; }));
  std::map<std::string, toggle::Event> by_user;
  for (const auto& e : p.analytics.store().recent(std::string("tracked"), 10)) by_user[e.user_id] = e;
  ASSERT_EQ(by_user.size(), 3u);
  EXPECT_TRUE(by_user["alice"].result);
  EXPECT_EQ(by_user["alice"].variant, "on");
  EXPECT_EQ(by_user["alice"].reason, "TARGETING_MATCH");
  EXPECT_FALSE(by_user["bob"].result);
  EXPECT_EQ(by_user["bob"].variant, "off");
  EXPECT_EQ(by_user["bob"].reason, "DEFAULT");
  EXPECT_EQ(by_user[std::string(toggle::evaluation::kAnonymousUser)].reason, "DEFAULT");
  // The bulk request sent none (OFREP_BULK_EVENTS=false), nor did the unknown flag.
  EXPECT_TRUE(p.analytics.store().recent(std::string("no-such-flag"), 10).empty());
}

TEST_F(OfrepTest, AFlagNotLoadedYetIsFetched) {
  // Straight after its creation, before the feed brings it: fetched as /evaluate does.
  create_flag("fresh");
  EXPECT_EQ(flag("fresh", kUser).body, success("fresh", true, "on", "STATIC"));
}

TEST_F(OfrepTest, CorsForBrowserProviders) {
  // The App's routes served with an allowed origin (CORS_ALLOWED_ORIGINS).
  toggle::ServerOptions options = testsupport::local_server_options(0);
  options.cors_origins = {"https://app.example.com"};
  toggle::Server server(options, p.evaluation.app().router());
  server.start();
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());
  for (std::string path : {"/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/f"}) {
    SCOPED_TRACE(path);
    auto preflight = raw_call("OPTIONS", base + path,
                              {{"Origin", "https://app.example.com"},
                               {"Access-Control-Request-Method", "POST"},
                               {"Access-Control-Request-Headers", "content-type, if-none-match, x-api-key"}});
    EXPECT_EQ(preflight.status, 204) << preflight.describe();
    EXPECT_EQ(preflight.header("Access-Control-Allow-Origin"), "https://app.example.com");
    EXPECT_NE(preflight.header("Access-Control-Allow-Methods").value_or("").find("POST"), std::string::npos);
    for (std::string h : {"Content-Type", "Authorization", "X-API-Key", "If-None-Match"})
      EXPECT_NE(preflight.header("Access-Control-Allow-Headers").value_or("").find(h), std::string::npos) << h;
  }
  ASSERT_TRUE(eventually([&] { return p.evaluation.catalog().complete(); }));
  auto actual = raw_call("POST", base + "/ofrep/v1/evaluate/flags",
                         {{"Origin", "https://app.example.com"}, {"Content-Type", "application/json"}},
                         R"({"context":{"targetingKey":"u"}})");
  EXPECT_EQ(actual.status, 200) << actual.describe();
  EXPECT_EQ(actual.header("Access-Control-Allow-Origin"), "https://app.example.com");
  EXPECT_NE(actual.header("Access-Control-Expose-Headers").value_or("").find("ETag"), std::string::npos);
  server.stop(std::chrono::milliseconds(3000));
}

TEST_F(OfrepTest, LargeBodiesUpToOneMebibyte) {
  create_flag("f");
  json context = {{"targetingKey", "u"}, {"blob", std::string(200 * 1024, 'x')}};
  EXPECT_EQ(flag("f", context).status(), 200) << "beyond the server's 64 KiB default";
  auto too_large = post("/ofrep/v1/evaluate/flags/f", json{{"context", {{"blob", std::string(1100000, 'x')}}}}.dump());
  EXPECT_EQ(too_large.status(), 413) << too_large.raw.describe();
}

// EVALUATE_REQUIRE_KEY=true: OFREP needs a key with the evaluate scope, as /evaluate.
class OfrepRequireKeyTest : public OfrepTest {
 protected:
  OfrepRequireKeyTest() : OfrepTest([](EvaluationConfig& c) { c.require_key = true; }) {}
};

TEST_F(OfrepRequireKeyTest, BearerOrXApiKey) {
  create_flag("f");
  auto none = flag("f", kUser);
  EXPECT_EQ(none.status(), 401) << none.raw.describe();
  EXPECT_EQ(without_details(none.body), failure("f", "MISSING_KEY"));
  auto none_bulk = bulk(kUser);
  EXPECT_EQ(none_bulk.status(), 401);
  EXPECT_EQ(without_details(none_bulk.body), json({{"errorCode", "MISSING_KEY"}}));
  auto bad = flag("f", kUser, {{"X-API-Key", "tm_key_" + std::string(64, 'a')}});
  EXPECT_EQ(bad.status(), 401);
  EXPECT_EQ(without_details(bad.body), failure("f", "INVALID_KEY"));
  std::string reader = p.auth.create_key("reader", {"read"});
  auto unscoped = flag("f", kUser, {{"Authorization", "Bearer " + reader}});
  EXPECT_EQ(unscoped.status(), 403);
  EXPECT_EQ(without_details(unscoped.body), failure("f", "MISSING_SCOPE"));

  std::string key = p.auth.create_key("sdk", {"evaluate"});
  for (int round = 0; round < 2; ++round) {  // first sight (asks auth-service), then cached
    SCOPED_TRACE(round);
    EXPECT_EQ(flag("f", kUser, {{"Authorization", "Bearer " + key}}).body, success("f", true, "on", "STATIC"));
    EXPECT_EQ(flag("f", kUser, {{"X-API-Key", key}}).body, success("f", true, "on", "STATIC"));
    EXPECT_EQ(bulk(kUser, {{"X-API-Key", key}}).status(), 200);
  }
  EXPECT_EQ(post("/ofrep/v1/evaluate/flags/f", "{", {{"X-API-Key", key}}).status(), 400)
      << "with a key, the body is read";
}

// The key is checked from the headers: a refused client's 1 MiB body is neither waited for nor
// read (only the headers are sent here; reading the body would leave the reply unsent). An
// accepted key's body, sent after the headers, is then read and evaluated.
TEST_F(OfrepRequireKeyTest, ARefusedKeyIsAnsweredBeforeTheBodyIsRead) {
  create_flag("f");
  const std::string base = p.evaluation.url();
  const RawSend announced_only{.content_length = toggle::evaluation::kMaxOfrepBodyBytes};
  std::string reader = p.auth.create_key("reader", {"read"});
  struct Case {
    std::vector<std::pair<std::string, std::string>> headers;
    int status;
    std::string code;
  };
  const std::vector<Case> cases = {
      {{}, 401, "MISSING_KEY"},
      {{{"X-API-Key", "tm_key_" + std::string(64, 'b')}}, 401, "INVALID_KEY"},
      {{{"Authorization", "Bearer " + reader}}, 403, "MISSING_SCOPE"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.code);
    auto one = raw_call("POST", base + "/ofrep/v1/evaluate/flags/f", c.headers, "", announced_only);
    EXPECT_EQ(one.status, c.status) << one.describe();
    EXPECT_EQ(without_details(body_of(one.body)), failure("f", c.code));
    auto all = raw_call("POST", base + "/ofrep/v1/evaluate/flags", c.headers, "", announced_only);
    EXPECT_EQ(all.status, c.status) << all.describe();
    EXPECT_EQ(without_details(body_of(all.body)), json({{"errorCode", c.code}}));
  }

  std::string key = p.auth.create_key("sdk", {"evaluate"});
  const std::string body = json{{"context", kUser}}.dump();
  for (int round = 0; round < 2; ++round) {  // first sight (asks auth-service), then cached
    SCOPED_TRACE(round);
    auto one = raw_call("POST", base + "/ofrep/v1/evaluate/flags/f", {{"X-API-Key", key}}, body,
                        {.body_after = 200ms});
    EXPECT_EQ(one.status, 200) << one.describe();
    EXPECT_EQ(body_of(one.body), success("f", true, "on", "STATIC"));
    auto all =
        raw_call("POST", base + "/ofrep/v1/evaluate/flags", {{"X-API-Key", key}}, body, {.body_after = 200ms});
    EXPECT_EQ(all.status, 200) << all.describe();
  }
}

}  // namespace
}  // namespace itest
