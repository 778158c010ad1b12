// targeting-service: RuleStore on a real SQLite file (and a PostgreSQL database), and the real App
// served in-process behind a real auth-service and a real flag-service (a rule is only for a flag
// that exists; deleting the flag deletes its rule). Rules -- the legacy rule or an array of rules --
// are validated (toggle::rules::parse_new_rule, parse_targeting, check_targeting against the
// flag's variants and the segments) and stored canonically. Segments: CRUD, the references from
// rules, the limit, their own change feed.
#include <future>
#include <set>

#include "harness.hpp"

namespace itest {
namespace {

using toggle::targeting::RuleStore;
namespace rules = toggle::rules;

// ---------------------------------------------------------------------------------------------
// RuleStore

// On SQLite and on PostgreSQL (the same store code).
class RuleStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  TempDir dir;
  TestDatabase database{GetParam(), dir, "targeting"};
  std::unique_ptr<toggle::sql::Database> db = database.open();
  RuleStore store{*db, database.url()};
};
INSTANTIATE_TEST_SUITE_P(On, RuleStoreTest, kBackends, backend_name);

TEST_P(RuleStoreTest, CrudConflictAndPartialUpdate) {
  const std::string fifty = R"({"type":"PERCENTAGE","value":50})";
  auto created = store.create("f", fifty, true);
  EXPECT_GT(created.id, 0);
  EXPECT_EQ(created.flag_name, "f");
  EXPECT_EQ(created.rules, fifty);
  EXPECT_TRUE(created.is_enabled);
  EXPECT_TRUE(is_iso8601_utc(created.created_at));
  try {
    store.create("f", fifty, false);
    FAIL() << "a second rule for one flag";
  } catch (const toggle::Error& e) {
    EXPECT_EQ(e.kind(), toggle::ErrorKind::conflict);
    EXPECT_EQ(e.code(), "rule_exists");
  }

  auto disabled = store.update("f", std::nullopt, false);
  ASSERT_TRUE(disabled);
  EXPECT_FALSE(disabled->is_enabled);
  EXPECT_EQ(disabled->rules, fifty) << "COALESCE keeps the unset rule";
  auto changed = store.update("f", R"({"type":"USER_LIST","values":["u1"]})", std::nullopt);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->rules, R"({"type":"USER_LIST","values":["u1"]})");
  EXPECT_FALSE(changed->is_enabled) << "COALESCE keeps the unset is_enabled";
  EXPECT_GT(changed->version, disabled->version);
  EXPECT_FALSE(store.update("missing", std::nullopt, true));

  store.create("a", fifty, true);
  auto all = store.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].flag_name, "a");
  EXPECT_EQ(all[1].flag_name, "f");

  std::int64_t before = store.feed().version();
  ASSERT_TRUE(store.remove("f"));
  EXPECT_EQ(store.feed().version(), before + 1);
  EXPECT_EQ(store.feed().feed().version(), before + 1) << "published";
  EXPECT_FALSE(store.get("f"));
  EXPECT_FALSE(store.remove("f"));
}

TEST_P(RuleStoreTest, ChangesSince) {
  store.create("a", R"({"type":"PERCENTAGE","value":10})", true);
  store.create("b", R"({"type":"PERCENTAGE","value":20})", true);
  std::string epoch = store.feed().epoch();
  std::int64_t seen = store.feed().version();

  json full = changes_since(store.feed(), 0, epoch);
  EXPECT_EQ(full["full"], true);
  EXPECT_EQ(full["rules"].size(), 2u);
  EXPECT_EQ(full["rules"][0]["rules"], json({{"type", "PERCENTAGE"}, {"value", 10}})) << "as JSON, not text";
  EXPECT_EQ(changes_since(store.feed(), seen, "other")["full"], true);
  EXPECT_EQ(changes_since(store.feed(), seen + 1, epoch)["full"], true);

  store.update("a", std::nullopt, false);
  store.remove("b");
  json delta = changes_since(store.feed(), seen, epoch);
  EXPECT_EQ(delta["full"], false);
  ASSERT_EQ(delta["rules"].size(), 1u);
  EXPECT_EQ(delta["rules"][0]["flag_name"], "a");
  EXPECT_EQ(delta["rules"][0]["is_enabled"], false);
  EXPECT_EQ(delta["deleted"], json::array({"b"}));
  EXPECT_EQ(delta["version"], seen + 2);
}

// ---------------------------------------------------------------------------------------------
// HTTP API

// On SQLite and on PostgreSQL.
class RuleApiTest : public ::testing::TestWithParam<Backend> {
 protected:
  // flag-service first: stopping it answers targeting's parked poll of its feed, so that
  // targeting-service then stops at once.
  ~RuleApiTest() override { flags.stop(); }

  TempDir dir;
  AuthService auth{dir};
  FlagService flags{dir, auth.url()};
  TargetingService targeting{dir, auth.url(), flags.url(), GetParam()};
  std::string key = auth.create_key("targeting-admin");

  toggle::ClientResponse req(const std::string& method, const std::string& path, const std::string& body = "") {
    return call(method, targeting.url() + path, key, body);
  }
  // The flag in flag-service (if its name is valid and it is not there yet), then its rule.
  toggle::ClientResponse create(const std::string& flag, const json& rules) {
    ensure_flag(flag);
    return req("POST", "/rules", json{{"flag_name", flag}, {"rules", rules}}.dump());
  }
  void ensure_flag(const std::string& flag) { call("POST", flags.url() + "/flags", key, json{{"name", flag}}.dump()); }
  toggle::ClientResponse delete_flag(const std::string& flag) { return call("DELETE", flags.url() + "/flags/" + flag, key); }
  bool has_rule(const std::string& flag) { return req("GET", "/rules/" + flag).status == 200; }
  toggle::ClientResponse segment(const std::string& name, const json& conditions) {
    return req("POST", "/segments", json{{"name", name}, {"conditions", conditions}}.dump());
  }
  // The rules column as stored in the database (PostgreSQL's JSONB prints with spaces: compared
  // without them).
  std::string stored_text(const std::string& flag) {
    auto rows = targeting.database().exec("SELECT rules FROM targeting_rules WHERE flag_name = $1", {flag}).rows;
    if (rows.empty()) return "";
    return GetParam() == Backend::sqlite ? rows[0].text(0) : json::parse(rows[0].text(0)).dump();
  }
};
INSTANTIATE_TEST_SUITE_P(On, RuleApiTest, kBackends, backend_name);

TEST_P(RuleApiTest, CrudLifecycle) {
  ensure_flag("checkout");
  ensure_flag("beta");
  auto created = req("POST", "/rules", R"({"flag_name":"checkout","rules":{"type":"PERCENTAGE","value":25}})");
  ASSERT_EQ(created.status, 201) << describe(created);
  json r = body_of(created);
  EXPECT_TRUE(r["id"].is_number_integer());
  EXPECT_EQ(r["flag_name"], "checkout");
  EXPECT_EQ(r["is_enabled"], true) << "is_enabled defaults to true, as the original";
  EXPECT_EQ(r["rules"], json({{"type", "PERCENTAGE"}, {"value", 25}}));
  EXPECT_TRUE(is_iso8601_utc(r["created_at"].get<std::string>())) << r;
  EXPECT_TRUE(is_iso8601_utc(r["updated_at"].get<std::string>())) << r;

  auto got = req("GET", "/rules/checkout");
  ASSERT_EQ(got.status, 200) << describe(got);
  EXPECT_EQ(body_of(got), r);

  auto again = req("POST", "/rules", R"({"flag_name":"checkout","rules":{"type":"PERCENTAGE","value":1}})");
  EXPECT_EQ(again.status, 409) << describe(again);
  EXPECT_EQ(code_of(again), "rule_exists");
  EXPECT_EQ(body_of(req("GET", "/rules/checkout"))["rules"]["value"], 25);

  ASSERT_EQ(req("POST", "/rules", R"({"flag_name":"beta","rules":{"type":"USER_LIST","values":["u1"]},
                                      "is_enabled":false})")
                .status,
            201);
  auto list = req("GET", "/rules");
  ASSERT_EQ(list.status, 200) << describe(list);
  json all = body_of(list);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["flag_name"], "beta");
  EXPECT_EQ(all[0]["is_enabled"], false);
  EXPECT_EQ(all[1]["flag_name"], "checkout");

  auto put = req("PUT", "/rules/checkout", R"({"is_enabled":false})");
  ASSERT_EQ(put.status, 200) << describe(put);
  EXPECT_EQ(body_of(put)["is_enabled"], false);
  EXPECT_EQ(body_of(put)["rules"]["value"], 25) << "partial update keeps the rule";
  auto patch = req("PATCH", "/rules/checkout", R"({"rules":{"type":"PERCENTAGE","value":75}})");
  ASSERT_EQ(patch.status, 200) << describe(patch);
  EXPECT_EQ(body_of(patch)["rules"]["value"], 75);
  EXPECT_EQ(body_of(patch)["is_enabled"], false) << "partial update keeps is_enabled";

  EXPECT_EQ(req("DELETE", "/rules/checkout").status, 204);
  auto gone = req("GET", "/rules/checkout");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(code_of(gone), "rule_not_found");
  EXPECT_EQ(call("GET", flags.url() + "/flags/checkout", key).status, 200) << "deleting a rule keeps its flag";
  EXPECT_EQ(req("DELETE", "/rules/checkout").status, 404);
  EXPECT_EQ(req("PUT", "/rules/checkout", R"({"is_enabled":true})").status, 404);
  EXPECT_EQ(body_of(req("GET", "/rules")).size(), 1u);
}

TEST_P(RuleApiTest, PercentageBoundsAndTypes) {
  int n = 0;
  for (json value : {json(0), json(100), json(50.0), json(0.0), json(1e1)}) {
    SCOPED_TRACE(value.dump());
    auto res = create("ok-" + std::to_string(n++), {{"type", "PERCENTAGE"}, {"value", value}});
    EXPECT_EQ(res.status, 201) << describe(res);
  }
  // Whole percentages only: finer splits are the flag model's fractional rollouts.
  for (json value : {json(-1), json(101), json(100.0001), json(50.5), json(99.99), json("50"), json(nullptr),
                     json(true), json::array({50})}) {
    SCOPED_TRACE(value.dump());
    auto res = create("bad", {{"type", "PERCENTAGE"}, {"value", value}});
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_rule");
    EXPECT_NE(error_of(res).find("value"), std::string::npos) << res.body;
  }
  auto missing = create("bad", {{"type", "PERCENTAGE"}});
  EXPECT_EQ(missing.status, 400) << describe(missing);
  EXPECT_EQ(req("GET", "/rules/bad").status, 404) << "nothing invalid was stored";
}

TEST_P(RuleApiTest, UserListTakesStringsOnly) {
  auto ok = create("beta", {{"type", "USER_LIST"}, {"values", json::array({"alice", "bob@example.com", "user-123"})}});
  ASSERT_EQ(ok.status, 201) << describe(ok);
  EXPECT_EQ(body_of(ok)["rules"]["values"], json({"alice", "bob@example.com", "user-123"}));
  EXPECT_EQ(create("empty", {{"type", "USER_LIST"}, {"values", json::array()}}).status, 201);

  for (json values : {json::array({"alice", 42}), json::array({nullptr}), json("alice"), json::array({""}),
                      json::array({std::string(257, 'u')})}) {
    SCOPED_TRACE(values.dump());
    auto res = create("bad", {{"type", "USER_LIST"}, {"values", values}});
    EXPECT_EQ(res.status, 400) << describe(res);
  }
  EXPECT_EQ(create("bad", {{"type", "USER_LIST"}}).status, 400);
  EXPECT_EQ(create("bad", {{"type", "USER_LIST"}, {"value", json::array({"a"})}}).status, 400)
      << "'value' is the PERCENTAGE key";
}

TEST_P(RuleApiTest, UnknownTypeNamesTheKnownOnes) {
  for (json rules : {json({{"type", "GEO"}, {"value", 1}}), json({{"value", 50}}),
                     json({{"type", "percentage"}, {"value", 5}}), json({{"type", 1}})}) {
    SCOPED_TRACE(rules.dump());
    auto res = create("f", rules);
    EXPECT_EQ(res.status, 400) << describe(res);
    std::string error = error_of(res);
    EXPECT_NE(error.find("PERCENTAGE"), std::string::npos) << error;
    EXPECT_NE(error.find("USER_LIST"), std::string::npos) << error;
  }
  for (json rules : {json(nullptr), json("PERCENTAGE"), json(50)}) {
    SCOPED_TRACE(rules.dump());
    EXPECT_EQ(create("f", rules).status, 400);
  }
  EXPECT_EQ(req("POST", "/rules", R"({"flag_name":"f"})").status, 400) << "rules is required";
  EXPECT_EQ(create("f", {{"type", "PERCENTAGE"}, {"value", 5}, {"extra", 1}}).status, 400) << "unknown key";
}

TEST_P(RuleApiTest, RulesAreStoredAndReturnedCanonically) {
  for (const char* flag : {"p", "h", "u"}) ensure_flag(flag);
  // Key order, spacing and 50.0 vs 50 as the client wrote them do not survive: one canonical form.
  ASSERT_EQ(req("POST", "/rules", R"({"flag_name":"p","rules":{ "value" : 50.0 , "type" : "PERCENTAGE" }})").status,
            201);
  EXPECT_EQ(stored_text("p"), R"({"type":"PERCENTAGE","value":50})");
  auto got = req("GET", "/rules/p");
  EXPECT_NE(got.body.find(R"("rules":{"type":"PERCENTAGE","value":50})"), std::string::npos) << got.body;

  auto fraction = req("POST", "/rules", R"({"flag_name":"h","rules":{"type":"PERCENTAGE","value":50.5}})");
  EXPECT_EQ(fraction.status, 400) << describe(fraction);
  EXPECT_NE(error_of(fraction).find("whole number"), std::string::npos) << fraction.body;

  ASSERT_EQ(req("POST", "/rules", R"({"flag_name":"u","rules":{"values":["z","a","z"],"type":"USER_LIST"}})").status,
            201);
  EXPECT_EQ(stored_text("u"), R"({"type":"USER_LIST","values":["z","a"]})") << "order kept, each id once";
  EXPECT_EQ(body_of(req("GET", "/rules/u"))["rules"],
            json({{"type", "USER_LIST"}, {"values", json::array({"z", "a"})}}));

  ASSERT_EQ(req("PUT", "/rules/p", R"({"rules":{"value":1e1,"type":"PERCENTAGE"}})").status, 200);
  EXPECT_EQ(stored_text("p"), R"({"type":"PERCENTAGE","value":10})");
}

TEST_P(RuleApiTest, UpdateValidation) {
  ASSERT_EQ(create("f", {{"type", "PERCENTAGE"}, {"value", 5}}).status, 201);
  for (std::string body :
       {R"({})", R"({"enabled":true})", R"({"rules":{"type":"PERCENTAGE","value":101}})", R"({"rules":null})",
        R"({"is_enabled":"no"})", R"({"flag_name":"g","is_enabled":false})", "{", "[]"}) {
    SCOPED_TRACE(body);
    auto res = req("PUT", "/rules/f", body);
    EXPECT_EQ(res.status, 400) << describe(res);
  }
  json r = body_of(req("GET", "/rules/f"));
  EXPECT_EQ(r["rules"]["value"], 5) << "refused updates change nothing";
  EXPECT_EQ(r["is_enabled"], true);
}

TEST_P(RuleApiTest, FlagNamesAreChecked) {
  for (std::string name : {std::string(101, 'x'), std::string("a/b"), std::string("a b"), std::string("")}) {
    SCOPED_TRACE(name);
    auto res = create(name, {{"type", "PERCENTAGE"}, {"value", 5}});
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), name.empty() ? "missing_field" : "invalid_flag_name");
  }
  EXPECT_EQ(req("POST", "/rules", R"({"flag_name":null,"rules":{"type":"PERCENTAGE","value":5}})").status, 400);
  EXPECT_EQ(req("GET", "/rules/a%2Fb").status, 400);
  EXPECT_EQ(req("DELETE", "/rules/a%20b").status, 400);
  EXPECT_EQ(create(std::string(100, 'x'), {{"type", "PERCENTAGE"}, {"value", 5}}).status, 201);
}

TEST_P(RuleApiTest, KeysAreRequiredAndAuthOutageIs503) {
  EXPECT_EQ(call("GET", targeting.url() + "/rules").status, 401);
  EXPECT_EQ(call("GET", targeting.url() + "/rules", "tm_key_unknown").status, 401);
  EXPECT_EQ(call("POST", targeting.url() + "/rules", "", R"({"flag_name":"f","rules":{"type":"PERCENTAGE","value":1}})")
                .status,
            401);
  EXPECT_EQ(call("GET", targeting.url() + "/changes").status, 401);
  std::string fresh = auth.create_key("fresh");
  auth.stop();
  auto res = call("GET", targeting.url() + "/rules", fresh);
  EXPECT_EQ(res.status, 503) << describe(res);
}

TEST_P(RuleApiTest, ParkedLongPollIsAnsweredByAWrite) {
  ASSERT_EQ(create("f", {{"type", "PERCENTAGE"}, {"value", 5}}).status, 201);
  json now = body_of(req("GET", "/changes?since=0"));
  ASSERT_EQ(now["rules"].size(), 1u);
  EXPECT_EQ(now["rules"][0]["rules"], json({{"type", "PERCENTAGE"}, {"value", 5}}));
  std::int64_t version = now["version"].get<std::int64_t>();
  std::string url = targeting.url() + "/changes?since=" + std::to_string(version) +
                    "&epoch=" + now["epoch"].get<std::string>() + "&wait_ms=5000";
  auto poll = std::async(std::launch::async, [&] { return call("GET", url, key, "", 10000ms); });
  ASSERT_EQ(poll.wait_for(300ms), std::future_status::timeout);
  ASSERT_EQ(req("PUT", "/rules/f", R"({"rules":{"type":"USER_LIST","values":["x"]}})").status, 200);
  ASSERT_EQ(poll.wait_for(4000ms), std::future_status::ready);
  json d = body_of(poll.get());
  EXPECT_EQ(d["full"], false);
  ASSERT_EQ(d["rules"].size(), 1u);
  EXPECT_EQ(d["rules"][0]["flag_name"], "f");
  EXPECT_EQ(d["rules"][0]["rules"], json({{"type", "USER_LIST"}, {"values", json::array({"x"})}}));
}

TEST_P(RuleApiTest, UserListOfTheDocumentedMaximumIsAccepted) {
  json values = json::array();
  for (int i = 0; i < 10000; ++i) values.push_back("user-" + std::to_string(100000 + i));
  auto res = create("big", {{"type", "USER_LIST"}, {"values", values}});
  ASSERT_EQ(res.status, 201) << res.status << " " << res.body.substr(0, 300);
  EXPECT_EQ(body_of(req("GET", "/rules/big"))["rules"]["values"].size(), 10000u);
  values.push_back("one-too-many");
  auto over = create("bigger", {{"type", "USER_LIST"}, {"values", values}});
  EXPECT_EQ(over.status, 400) << describe(over);
  EXPECT_NE(error_of(over).find("10000"), std::string::npos) << over.body;
}

// ---------------------------------------------------------------------------------------------
// Rules belong to flags that exist in flag-service

TEST_P(RuleApiTest, ARuleForAFlagThatDoesNotExistIs404) {
  auto res = req("POST", "/rules", R"({"flag_name":"ghost","rules":{"type":"PERCENTAGE","value":5}})");
  EXPECT_EQ(res.status, 404) << describe(res);
  EXPECT_EQ(code_of(res), "flag_not_found");
  EXPECT_NE(error_of(res).find("ghost"), std::string::npos) << res.body;
  EXPECT_TRUE(body_of(req("GET", "/rules")).empty()) << "nothing stored";

  // A flag created a moment ago is found at once (asked directly while the feed catches up).
  flags.create("ghost");
  auto created = req("POST", "/rules", R"({"flag_name":"ghost","rules":{"type":"PERCENTAGE","value":5}})");
  EXPECT_EQ(created.status, 201) << describe(created);
  // Validation comes first: an invalid rule for an unknown flag is a 400.
  auto invalid = req("POST", "/rules", R"({"flag_name":"other-ghost","rules":{"type":"GEO"}})");
  EXPECT_EQ(invalid.status, 400) << describe(invalid);
}

TEST_P(RuleApiTest, AFlagThatCannotBeCheckedIs503) {
  flags.stop();
  auto res = req("POST", "/rules", R"({"flag_name":"unknown-yet","rules":{"type":"PERCENTAGE","value":5}})");
  EXPECT_EQ(res.status, 503) << describe(res);
  EXPECT_EQ(code_of(res), "flag_service_unavailable");
  EXPECT_NE(error_of(res).find("unknown-yet"), std::string::npos) << res.body;
  EXPECT_TRUE(body_of(req("GET", "/rules")).empty());
  flags.start();
  flags.create("unknown-yet");
  EXPECT_EQ(req("POST", "/rules", R"({"flag_name":"unknown-yet","rules":{"type":"PERCENTAGE","value":5}})").status,
            201);
}

TEST_P(RuleApiTest, DeletingAFlagDeletesItsRuleAndARecreatedFlagStartsWithoutOne) {
  ASSERT_EQ(create("doomed", {{"type", "USER_LIST"}, {"values", json::array({"alice"})}}).status, 201);
  ASSERT_EQ(create("kept", {{"type", "PERCENTAGE"}, {"value", 5}}).status, 201);
  ASSERT_EQ(delete_flag("doomed").status, 204);
  EXPECT_TRUE(eventually([&] { return !has_rule("doomed"); })) << "the rule outlived its flag";
  EXPECT_TRUE(has_rule("kept"));

  // The deletion is in targeting's own change feed, so evaluation forgets the rule too.
  json feed = body_of(req("GET", "/changes?since=0"));
  ASSERT_EQ(feed["rules"].size(), 1u);
  EXPECT_EQ(feed["rules"][0]["flag_name"], "kept");

  flags.create("doomed");
  auto fresh = req("GET", "/rules/doomed");
  EXPECT_EQ(fresh.status, 404) << "a flag created again under the same name starts without targeting: "
                               << describe(fresh);
  EXPECT_EQ(create("doomed", {{"type", "PERCENTAGE"}, {"value", 1}}).status, 201) << "and can get a new rule";
}

TEST_P(RuleApiTest, AFlagDeletedWhileTargetingWasDownLosesItsRuleWhenTargetingIsBack) {
  ASSERT_EQ(create("doomed", {{"type", "PERCENTAGE"}, {"value", 50}}).status, 201);
  ASSERT_EQ(create("kept", {{"type", "PERCENTAGE"}, {"value", 5}}).status, 201);
  targeting.stop();
  ASSERT_EQ(delete_flag("doomed").status, 204);
  targeting.start();  // its first sync of flag-service's feed is a full one
  EXPECT_TRUE(eventually([&] { return !has_rule("doomed"); })) << "the missed deletion was not caught";
  EXPECT_TRUE(has_rule("kept"));
  flags.create("doomed");
  EXPECT_EQ(req("GET", "/rules/doomed").status, 404) << "the re-created flag starts without a rule";
}

// ---------------------------------------------------------------------------------------------
// Rules as an array (docs/flag-model.md): checked against the flag's variants and the segments

TEST_P(RuleApiTest, ArrayRulesAreAcceptedAndStoredCanonically) {
  ASSERT_EQ(segment("staff", json::array({{{"attribute", "email"}, {"operator", "ends_with"}, {"value", "@acme.com"}}}))
                .status,
            201);
  ensure_flag("checkout");
  // Keys out of order, the split's "by" left to its default: stored in the one canonical form.
  auto created = req("POST", "/rules", R"({"flag_name":"checkout","rules":[
      {"serve":{"variant":"on"},"name":"staff","conditions":[{"values":["staff"],"operator":"in_segment"}]},
      {"conditions":[{"value":"2.4.0","operator":"semver_gte","attribute":"app.version"}],
       "serve":{"split":[{"weight":2500,"variant":"on"},{"variant":"off","weight":7500}]}}]})");
  ASSERT_EQ(created.status, 201) << describe(created);
  const std::string canonical =
      R"([{"conditions":[{"operator":"in_segment","values":["staff"]}],"name":"staff","serve":{"variant":"on"}},)"
      R"({"conditions":[{"attribute":"app.version","operator":"semver_gte","value":"2.4.0"}],)"
      R"("serve":{"by":"targetingKey","split":[{"variant":"on","weight":2500},{"variant":"off","weight":7500}]}}])";
  EXPECT_EQ(stored_text("checkout"), canonical);
  EXPECT_EQ(body_of(created)["rules"], json::parse(canonical));
  auto got = req("GET", "/rules/checkout");
  EXPECT_NE(got.body.find("\"rules\":" + canonical), std::string::npos) << got.body;
  json feed = body_of(req("GET", "/changes?since=0"));
  ASSERT_EQ(feed["rules"].size(), 1u);
  EXPECT_EQ(feed["rules"][0]["rules"], json::parse(canonical)) << "the change feed carries them as stored";

  // Back to a legacy rule, and to no targeting at all ([]): each replaces the other.
  ASSERT_EQ(req("PUT", "/rules/checkout", R"({"rules":{"value":5,"type":"PERCENTAGE"}})").status, 200);
  EXPECT_EQ(stored_text("checkout"), R"({"type":"PERCENTAGE","value":5})");
  auto emptied = req("PATCH", "/rules/checkout", R"({"rules":[]})");
  ASSERT_EQ(emptied.status, 200) << describe(emptied);
  EXPECT_EQ(stored_text("checkout"), "[]");
  EXPECT_EQ(create("fresh", json::array()).status, 201) << "[] is a valid targeting: none";
}

TEST_P(RuleApiTest, ArrayRuleErrorsNameTheFieldAndTheProblem) {
  ASSERT_EQ(create("f", {{"type", "PERCENTAGE"}, {"value", 5}}).status, 201);
  ensure_flag("g");
  struct Case {
    const char* what;
    std::string rules;
    std::string error;  // the start of the expected message
  };
  const Case cases[] = {
      {"unknown operator", R"([{"conditions":[{"attribute":"plan","operator":"equals","value":"pro"}],"serve":{"variant":"on"}}])",
       "rules[0].conditions[0].operator: unknown operator 'equals'"},
      {"a variant the flag does not have", R"([{"serve":{"variant":"on"}},{"serve":{"variant":"blue"}}])",
       "rules[1].serve.variant: variant 'blue' does not exist (the flag has off, on)"},
      {"a split not summing to 10000", R"([{"serve":{"split":[{"variant":"on","weight":5000},{"variant":"off","weight":4000}]}}])",
       "rules[0].serve.split: weights sum to 9000, must be 10000"},
      {"an RE2 pattern that does not compile", R"([{"conditions":[{"attribute":"email","operator":"matches","value":"(abc"}],"serve":{"variant":"on"}}])",
       "rules[0].conditions[0].value: RE2 pattern does not compile"},
      {"a segment that does not exist", R"([{"conditions":[{"operator":"in_segment","values":["beta"]}],"serve":{"variant":"on"}}])",
       "rules[0].conditions[0].values[0]: segment 'beta' does not exist"},
      {"an unknown key", R"([{"serve":{"variant":"on"},"when":[]}])", "rules[0]: unknown key 'when'"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto created = req("POST", "/rules", R"({"flag_name":"g","rules":)" + c.rules + "}");
    EXPECT_EQ(created.status, 400) << describe(created);
    EXPECT_EQ(code_of(created), "invalid_rule");
    EXPECT_EQ(error_of(created).rfind(c.error, 0), 0u) << error_of(created);
    auto updated = req("PUT", "/rules/f", R"({"rules":)" + c.rules + "}");
    EXPECT_EQ(updated.status, 400) << describe(updated);
    EXPECT_EQ(error_of(updated), error_of(created));
  }
  EXPECT_EQ(req("GET", "/rules/g").status, 404) << "nothing invalid was stored";
  EXPECT_EQ(stored_text("f"), R"({"type":"PERCENTAGE","value":5})") << "refused updates change nothing";
  auto no_rule = req("PUT", "/rules/g", R"({"rules":[]})");
  EXPECT_EQ(no_rule.status, 404) << describe(no_rule);
  EXPECT_EQ(code_of(no_rule), "rule_not_found");
}

// End to end once flag-service takes a flag's variant part ("type", "variants", ...); until then
// the unit-level test below checks the same through flag_variants_of() and check_rules().
TEST_P(RuleApiTest, RulesServeOnlyTheVariantsOfATypedFlag) {
  auto made = call("POST", flags.url() + "/flags", key,
                   R"({"name":"color","is_enabled":true,"type":"string","variants":{"blue":"#0000ff","red":"#ff0000"},
                       "default_variant":"blue","off_variant":"blue"})");
  if (made.status != 201 || !body_of(made).contains("variants"))
    GTEST_SKIP() << "flag-service does not take a flag's variants yet: " << describe(made);
  for (const char* legacy : {R"({"type":"PERCENTAGE","value":50})", R"({"type":"USER_LIST","values":["u1"]})"}) {
    SCOPED_TRACE(legacy);
    auto res = req("POST", "/rules", std::string(R"({"flag_name":"color","rules":)") + legacy + "}");
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_rule");
    EXPECT_NE(error_of(res).find("this flag is a string flag"), std::string::npos) << res.body;
  }
  auto ok = req("POST", "/rules", R"({"flag_name":"color","rules":[{"serve":{"variant":"red"}}]})");
  ASSERT_EQ(ok.status, 201) << describe(ok);
  auto wrong = req("PUT", "/rules/color", R"({"rules":[{"serve":{"variant":"on"}}]})");
  EXPECT_EQ(wrong.status, 400) << describe(wrong);
  EXPECT_EQ(error_of(wrong), "rules[0].serve.variant: variant 'on' does not exist (the flag has blue, red)");
}

TEST(FlagVariantsOfAFlagRecord, AreCheckedAgainstTheRules) {
  using toggle::targeting::check_rules;
  using toggle::targeting::flag_variants_of;
  using toggle::targeting::parsed_rules;
  auto refusal = [](const rules::Targeting& targeting, const rules::FlagVariants& variants) -> std::string {
    try {
      check_rules(targeting, &variants, {});
      return "";
    } catch (const toggle::Error& e) {
      EXPECT_EQ(e.code(), "invalid_rule");
      return e.what();
    }
  };
  auto boolean = flag_variants_of({{"name", "f"}, {"is_enabled", true}, {"description", ""}});
  EXPECT_EQ(rules::to_json(boolean), rules::to_json(rules::FlagVariants())) << "no variant part: implicit boolean";
  auto legacy = parsed_rules({{"type", "PERCENTAGE"}, {"value", 50}});
  EXPECT_EQ(refusal(legacy, boolean), "");

  json record = {{"name", "color"},       {"is_enabled", true},
                 {"type", "string"},      {"variants", {{"blue", "#0000ff"}, {"red", "#ff0000"}}},
                 {"default_variant", "blue"}, {"off_variant", "blue"}};
  auto color = flag_variants_of(record);
  EXPECT_EQ(color.type(), rules::FlagType::string);
  EXPECT_EQ(color.default_variant().name, "blue");
  EXPECT_NE(refusal(legacy, color).find("this flag is a string flag"), std::string::npos) << refusal(legacy, color);
  EXPECT_EQ(refusal(parsed_rules(json::parse(R"([{"serve":{"variant":"red"}}])")), color), "");
  EXPECT_EQ(refusal(parsed_rules(json::parse(R"([{"serve":{"variant":"on"}}])")), color),
            "rules[0].serve.variant: variant 'on' does not exist (the flag has blue, red)");

  record["off_variant"] = "missing";  // flag-service never sends this: taken as a boolean flag
  EXPECT_EQ(flag_variants_of(record).type(), rules::FlagType::boolean);
}

// ---------------------------------------------------------------------------------------------
// Segments

TEST_P(RuleApiTest, SegmentsCrud) {
  auto created = req("POST", "/segments", R"({"conditions":[{"value":"@acme.com","operator":"ends_with","attribute":"email"},
                                                           {"attribute":"beta","operator":"eq","value":true}],
                                             "name":"beta-testers"})");
  ASSERT_EQ(created.status, 201) << describe(created);
  const std::string conditions =
      R"([{"attribute":"email","operator":"ends_with","value":"@acme.com"},{"attribute":"beta","operator":"eq","value":true}])";
  json s = body_of(created);
  EXPECT_TRUE(s["id"].is_number_integer());
  EXPECT_EQ(s["name"], "beta-testers");
  EXPECT_EQ(s["conditions"], json::parse(conditions));
  EXPECT_TRUE(is_iso8601_utc(s["created_at"].get<std::string>())) << s;
  EXPECT_TRUE(is_iso8601_utc(s["updated_at"].get<std::string>())) << s;
  EXPECT_EQ(s.size(), 5u) << s;
  auto got = req("GET", "/segments/beta-testers");
  ASSERT_EQ(got.status, 200) << describe(got);
  EXPECT_EQ(body_of(got), s);
  EXPECT_NE(got.body.find("\"conditions\":" + conditions), std::string::npos) << "canonical: " << got.body;

  auto again = segment("beta-testers", json::array());
  EXPECT_EQ(again.status, 409) << describe(again);
  EXPECT_EQ(code_of(again), "segment_exists");
  auto everyone = req("POST", "/segments", R"({"name":"everyone"})");
  ASSERT_EQ(everyone.status, 201) << describe(everyone);
  EXPECT_EQ(body_of(everyone)["conditions"], json::array()) << "no conditions: everyone";

  struct Bad {
    std::string body, error;
  };
  const Bad bad[] = {
      {R"({"name":"n","conditions":[{"operator":"in_segment","values":["beta-testers"]}]})",
       "conditions[0].operator: a segment cannot use in_segment"},
      {R"({"name":"n","conditions":[{"attribute":"a","operator":"equals","value":1}]})",
       "conditions[0].operator: unknown operator 'equals'"},
      {R"({"name":"a b","conditions":[]})", "name: "},
      {R"({"conditions":[]})", "name: "},
      {R"({"name":"n","when":[]})", "unknown key 'when'"},
      {R"({"name":"changes"})", "name: 'changes' is reserved"},
  };
  for (const auto& b : bad) {
    SCOPED_TRACE(b.body);
    auto res = req("POST", "/segments", b.body);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_segment");
    EXPECT_EQ(error_of(res).rfind(b.error, 0), 0u) << error_of(res);
  }
  EXPECT_EQ(req("POST", "/segments", "[]").status, 400);

  json all = body_of(req("GET", "/segments"));
  ASSERT_EQ(all.size(), 2u) << all;
  EXPECT_EQ(all[0]["name"], "beta-testers");
  EXPECT_EQ(all[1]["name"], "everyone");

  auto put = req("PUT", "/segments/beta-testers", R"({"conditions":[{"attribute":"beta","operator":"exists"}]})");
  ASSERT_EQ(put.status, 200) << describe(put);
  EXPECT_EQ(body_of(put)["conditions"], json::parse(R"([{"attribute":"beta","operator":"exists"}])"));
  EXPECT_EQ(body_of(put)["id"], s["id"]);
  auto patch = req("PATCH", "/segments/beta-testers", R"({"name":"beta-testers","conditions":[]})");
  ASSERT_EQ(patch.status, 200) << describe(patch);
  EXPECT_EQ(body_of(patch)["conditions"], json::array());
  for (std::string body : {R"({})", R"({"conditions":null})", R"({"name":"other","conditions":[]})",
                           R"({"conditions":[{"operator":"nope"}]})", R"({"conditions":{}})", "[]"}) {
    SCOPED_TRACE(body);
    auto res = req("PUT", "/segments/everyone", body);
    EXPECT_EQ(res.status, 400) << describe(res);
  }
  EXPECT_EQ(body_of(req("GET", "/segments/everyone"))["conditions"], json::array()) << "refused updates change nothing";
  auto missing = req("PUT", "/segments/missing", R"({"conditions":[]})");
  EXPECT_EQ(missing.status, 404) << describe(missing);
  EXPECT_EQ(code_of(missing), "segment_not_found");

  EXPECT_EQ(req("DELETE", "/segments/everyone").status, 204);
  auto gone = req("GET", "/segments/everyone");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(code_of(gone), "segment_not_found");
  EXPECT_EQ(req("DELETE", "/segments/everyone").status, 404);
  EXPECT_EQ(req("GET", "/segments/a%20b").status, 400);
  EXPECT_EQ(body_of(req("GET", "/segments")).size(), 1u);
  EXPECT_TRUE(body_of(req("GET", "/rules")).empty()) << "segments are not rules";

  EXPECT_EQ(call("GET", targeting.url() + "/segments").status, 401);
  EXPECT_EQ(call("GET", targeting.url() + "/segments/changes").status, 401);
  EXPECT_EQ(call("POST", targeting.url() + "/segments", "", R"({"name":"x"})").status, 401);
}

TEST_P(RuleApiTest, ASegmentInUseCannotBeDeleted) {
  ASSERT_EQ(segment("staff", json::array()).status, 201);
  json uses_staff = json::parse(R"([{"conditions":[{"operator":"in_segment","values":["staff"]}],"serve":{"variant":"on"}}])");
  ASSERT_EQ(create("a", uses_staff).status, 201);
  ASSERT_EQ(create("b", uses_staff).status, 201);
  ASSERT_EQ(create("c", {{"type", "PERCENTAGE"}, {"value", 5}}).status, 201);
  auto refused = req("DELETE", "/segments/staff");
  EXPECT_EQ(refused.status, 409) << describe(refused);
  EXPECT_EQ(code_of(refused), "segment_in_use");
  EXPECT_NE(error_of(refused).find("flags a, b"), std::string::npos) << refused.body;

  ASSERT_EQ(req("PUT", "/rules/a", R"({"rules":[]})").status, 200);
  auto still = req("DELETE", "/segments/staff");
  EXPECT_EQ(still.status, 409) << describe(still);
  EXPECT_NE(error_of(still).find("flag b"), std::string::npos) << still.body;
  EXPECT_EQ(error_of(still).find("a,"), std::string::npos) << still.body;

  // Deleting the flag deletes its rules (flag-service's feed), and so frees the segment.
  ASSERT_EQ(delete_flag("b").status, 204);
  EXPECT_TRUE(eventually([&] { return !has_rule("b"); })) << "the rule outlived its flag";
  EXPECT_EQ(req("DELETE", "/segments/staff").status, 204);
  EXPECT_EQ(create("d", uses_staff).status, 400) << "and a rule cannot name it any more";
}

TEST_P(RuleApiTest, AtMostMaxSegments) {
  // kMaxSegments - 1 of them written straight into the table (as through the API, but faster).
  targeting.database().transaction([&](toggle::sql::Connection& c) {
    for (std::size_t i = 1; i < rules::kMaxSegments; ++i)
      c.exec("INSERT INTO segments (name, conditions, created_at, updated_at, version) VALUES ($1, '[]', $2, $2, 0)",
             {std::string_view("s" + std::to_string(i)), std::string_view("2026-01-01T00:00:00.000Z")});
    return 0;
  });
  ASSERT_EQ(segment("last", json::array()).status, 201);
  auto over = segment("one-too-many", json::array());
  EXPECT_EQ(over.status, 409) << describe(over);
  EXPECT_EQ(code_of(over), "too_many_segments");
  EXPECT_NE(error_of(over).find("1000"), std::string::npos) << over.body;
  ASSERT_EQ(req("DELETE", "/segments/s1").status, 204);
  EXPECT_EQ(segment("one-too-many", json::array()).status, 201);
}

TEST_P(RuleApiTest, SegmentsHaveTheirOwnChangeFeed) {
  ASSERT_EQ(segment("beta", json::array({{{"attribute", "beta"}, {"operator", "exists"}}})).status, 201);
  json now = body_of(req("GET", "/segments/changes?since=0"));
  EXPECT_EQ(now["full"], true);
  ASSERT_EQ(now["segments"].size(), 1u) << now;
  EXPECT_EQ(now["segments"][0]["name"], "beta");
  EXPECT_EQ(now["segments"][0]["conditions"], json::parse(R"([{"attribute":"beta","operator":"exists"}])"));
  EXPECT_FALSE(now.contains("rules"));
  EXPECT_TRUE(body_of(req("GET", "/changes?since=0"))["rules"].empty()) << "the rules' feed has no segments";
  EXPECT_EQ(req("GET", "/segments/changes?since=abc").status, 400);

  auto poll_after = [&](const json& seen) {
    std::string url = targeting.url() + "/segments/changes?since=" + std::to_string(seen["version"].get<std::int64_t>()) +
                      "&epoch=" + seen["epoch"].get<std::string>() + "&wait_ms=5000";
    return std::async(std::launch::async, [this, url] { return call("GET", url, key, "", 10000ms); });
  };
  auto poll = poll_after(now);
  ASSERT_EQ(poll.wait_for(300ms), std::future_status::timeout);
  ASSERT_EQ(req("PUT", "/segments/beta", R"({"conditions":[]})").status, 200);
  ASSERT_EQ(poll.wait_for(4000ms), std::future_status::ready);
  json delta = body_of(poll.get());
  EXPECT_EQ(delta["full"], false);
  ASSERT_EQ(delta["segments"].size(), 1u) << delta;
  EXPECT_EQ(delta["segments"][0]["conditions"], json::array());

  poll = poll_after(delta);
  ASSERT_EQ(poll.wait_for(300ms), std::future_status::timeout);
  ASSERT_EQ(req("DELETE", "/segments/beta").status, 204);
  ASSERT_EQ(poll.wait_for(4000ms), std::future_status::ready);
  json deleted = body_of(poll.get());
  EXPECT_TRUE(deleted["segments"].empty());
  EXPECT_EQ(deleted["deleted"], json::array({"beta"}));
}

}  // namespace
}  // namespace itest
