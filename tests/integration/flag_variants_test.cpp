// flag-service and a flag's variant part (issue 11): type, variants, default_variant, off_variant,
// stored canonical in the `variants` column (NULL: today's implicit boolean flag), on SQLite and
// PostgreSQL; and GET /flags/{name}?include=rules with the real targeting-service.
#include <set>

#include "harness.hpp"

namespace itest {
namespace {

using toggle::flags::FlagStore;

const std::set<std::string> kLegacyKeys = {"id", "name", "description", "is_enabled", "created_at", "updated_at"};
const std::set<std::string> kVariantKeys = {"type", "variants", "default_variant", "off_variant"};

std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (const auto& [k, v] : object.items()) keys.insert(k);
  return keys;
}

// ---------------------------------------------------------------------------------------------
// FlagStore

class FlagVariantsStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  TempDir dir;
  TestDatabase database{GetParam(), dir, "flags"};
  std::unique_ptr<toggle::sql::Database> db = database.open();
};
INSTANTIATE_TEST_SUITE_P(On, FlagVariantsStoreTest, kBackends, backend_name);

const std::string kColours =
    R"({"default_variant":"blue","off_variant":"grey","type":"string","variants":{"blue":"#00f","grey":"#888"}})";

TEST_P(FlagVariantsStoreTest, TheVariantPartIsStoredAndKeptByOtherUpdates) {
  FlagStore store(*db, database.url());
  auto legacy = store.create("legacy", "", true);
  EXPECT_FALSE(legacy.variants) << "no variant part: NULL";
  auto typed = store.create("typed", "", false, kColours);
  ASSERT_TRUE(typed.variants);
  EXPECT_EQ(*typed.variants, kColours);

  auto enabled = store.update("typed", std::nullopt, true);
  ASSERT_TRUE(enabled);
  EXPECT_EQ(enabled->variants, kColours) << "a write without a variant part keeps it";
  EXPECT_FALSE(store.update("legacy", "text", std::nullopt)->variants);

  const std::string numbers = R"({"default_variant":"low","off_variant":"low","type":"number","variants":{"low":1}})";
  auto changed = store.update("legacy", std::nullopt, std::nullopt, numbers);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->variants, numbers);
  EXPECT_EQ(changed->description, "text");
  EXPECT_EQ(store.get("legacy")->variants, numbers);
}

// A database of the previous version (its flags table has no `variants` column, and its
// schema_migrations knows nothing of it) is migrated at start, its rows kept and served as before.
TEST_P(FlagVariantsStoreTest, ADatabaseWithoutTheColumnIsMigratedAndItsFlagsAnswerAsBefore) {
  json before;
  {
    FlagStore store(*db, database.url());
    store.create("old", "from before", true);
    before = toggle::flags::to_json(*store.get("old"));
  }
  db->exec("ALTER TABLE flags DROP COLUMN variants");
  db->exec("DELETE FROM schema_migrations WHERE component = 'flag-service' AND version > 2");
  ASSERT_EQ(db->exec("SELECT version FROM schema_migrations WHERE component = 'flag-service'").rows.size(), 2u);

  FlagStore store(*db, database.url());
  auto old = store.get("old");
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->variants);
  EXPECT_EQ(toggle::flags::to_json(*old).dump(), before.dump()) << "byte for byte";
  auto typed = store.update("old", std::nullopt, std::nullopt, kColours);
  ASSERT_TRUE(typed);
  EXPECT_EQ(typed->variants, kColours);

  FlagStore reopened(*db, database.url());  // the migration runs once
  EXPECT_EQ(reopened.get("old")->variants, kColours);
}

// ---------------------------------------------------------------------------------------------
// HTTP API

class FlagVariantsApiTest : public ::testing::TestWithParam<Backend> {
 protected:
  TempDir dir;
  AuthService auth{dir};
  FlagService flags{dir, auth.url(), GetParam()};
  std::string key = auth.create_key("flag-admin");

  toggle::ClientResponse req(const std::string& method, const std::string& path, const std::string& body = "") {
    return call(method, flags.url() + path, key, body);
  }
  json created(const json& body) {
    auto res = req("POST", "/flags", body.dump());
    EXPECT_EQ(res.status, 201) << describe(res);
    return body_of(res);
  }
  // The flag's record in the full change feed.
  json in_feed(const std::string& name) {
    json full = body_of(req("GET", "/changes?since=0"));
    for (const auto& f : full["flags"])
      if (f["name"] == name) return f;
    return nullptr;
  }
};
INSTANTIATE_TEST_SUITE_P(On, FlagVariantsApiTest, kBackends, backend_name);

TEST_P(FlagVariantsApiTest, FlagsOfEachTypeAreCreatedAndServedCanonical) {
  struct Case {
    std::string name;
    json part, canonical;
  };
  const std::vector<Case> cases = {
      {"explicit-boolean",
       {{"type", "boolean"}},
       json::parse(R"({"type":"boolean","variants":{"off":false,"on":true},"default_variant":"on","off_variant":"off"})")},
      {"false-by-default",
       {{"default_variant", "off"}},
       json::parse(R"({"type":"boolean","variants":{"off":false,"on":true},"default_variant":"off","off_variant":"off"})")},
      {"colour", json::parse(R"({"type":"string","variants":{"red":"#f00","blue":"#00f"},"default_variant":"blue","off_variant":"red"})"),
       json::parse(R"({"type":"string","variants":{"blue":"#00f","red":"#f00"},"default_variant":"blue","off_variant":"red"})")},
      {"limit", json::parse(R"({"type":"number","variants":{"low":10,"high":2.5e2,"float":0.5},"default_variant":"low","off_variant":"float"})"),
       json::parse(R"({"type":"number","variants":{"float":0.5,"high":250,"low":10},"default_variant":"low","off_variant":"float"})")},
      {"config", json::parse(R"({"type":"object","variants":{"v1":{"limit":10,"tags":["a"]},"none":{}},"default_variant":"v1","off_variant":"none"})"),
       json::parse(R"({"type":"object","variants":{"none":{},"v1":{"limit":10,"tags":["a"]}},"default_variant":"v1","off_variant":"none"})")},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    json body = c.part;
    body["name"] = c.name;
    body["is_enabled"] = true;
    json f = created(body);
    std::set<std::string> expected_keys = kLegacyKeys;
    expected_keys.insert(kVariantKeys.begin(), kVariantKeys.end());
    EXPECT_EQ(keys_of(f), expected_keys) << f;
    for (const auto& k : kVariantKeys) EXPECT_EQ(f[k], c.canonical[k]) << k;
    EXPECT_EQ(f["is_enabled"], true);

    auto got = req("GET", "/flags/" + c.name);
    ASSERT_EQ(got.status, 200) << describe(got);
    EXPECT_EQ(body_of(got), f);
    EXPECT_EQ(in_feed(c.name), f) << "the change feed sends the same record";
  }
  json all = body_of(req("GET", "/flags"));
  ASSERT_EQ(all.size(), cases.size());
  for (const auto& f : all) EXPECT_TRUE(f.contains("variants")) << f;
}

TEST_P(FlagVariantsApiTest, FlagsWithoutAVariantPartAnswerAsBeforeByteForByte) {
  auto res = req("POST", "/flags", R"({"name":"plain","description":"as today","is_enabled":true})");
  ASSERT_EQ(res.status, 201) << describe(res);
  json f = body_of(res);
  EXPECT_EQ(keys_of(f), kLegacyKeys) << res.body;
  const std::string expected = json{{"id", f["id"]},
                                    {"name", "plain"},
                                    {"description", "as today"},
                                    {"is_enabled", true},
                                    {"created_at", f["created_at"]},
                                    {"updated_at", f["updated_at"]}}
                                   .dump();
  EXPECT_EQ(res.body, expected);
  EXPECT_EQ(req("GET", "/flags/plain").body, expected);
  EXPECT_EQ(req("GET", "/flags").body, "[" + expected + "]");
  EXPECT_EQ(in_feed("plain").dump(), expected);

  // null counts as not given, as for every optional field
  json nulls = created(json::parse(R"({"name":"nulls","type":null,"variants":null,"default_variant":null,"off_variant":null})"));
  EXPECT_EQ(keys_of(nulls), kLegacyKeys) << nulls;

  auto updated = req("PATCH", "/flags/plain", R"({"is_enabled":false,"description":"still today"})");
  ASSERT_EQ(updated.status, 200) << describe(updated);
  EXPECT_EQ(keys_of(body_of(updated)), kLegacyKeys) << updated.body;
}

TEST_P(FlagVariantsApiTest, AnInvalidVariantPartIs400NamingTheFieldAndStoresNothing) {
  struct Case {
    std::string body, field;
  };
  const std::vector<Case> cases = {
      {R"({"name":"f","type":"colour"})", "type"},
      {R"({"name":"f","type":7})", "type"},
      {R"({"name":"f","type":"string"})", "variants"},
      {R"({"name":"f","type":"string","variants":{"a":1},"default_variant":"a","off_variant":"a"})", "variants.a"},
      {R"({"name":"f","type":"string","variants":[],"default_variant":"a","off_variant":"a"})", "variants"},
      {R"({"name":"f","type":"number","variants":{"x y":1},"default_variant":"x y","off_variant":"x y"})", "variants"},
      {R"({"name":"f","default_variant":"maybe"})", "default_variant"},
      {R"({"name":"f","off_variant":"on"})", "off_variant"},
      {R"({"name":"f","type":"string","variants":{"a":"1"},"default_variant":"a"})", "off_variant"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.body);
    auto res = req("POST", "/flags", c.body);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_flag") << res.body;
    EXPECT_EQ(error_of(res).rfind(c.field, 0), 0u) << "the message starts with the field: " << res.body;
  }
  EXPECT_EQ(req("GET", "/flags/f").status, 404) << "nothing was stored";
  EXPECT_EQ(body_of(req("GET", "/flags")).size(), 0u);
}

TEST_P(FlagVariantsApiTest, APartialUpdateMergesOverTheStoredPart) {
  created(json::parse(R"({"name":"colour","description":"d","type":"string",
      "variants":{"red":"#f00","blue":"#00f","grey":"#888"},"default_variant":"blue","off_variant":"grey"})"));
  auto res = req("PATCH", "/flags/colour", R"({"default_variant":"red"})");
  ASSERT_EQ(res.status, 200) << describe(res);
  json f = body_of(res);
  EXPECT_EQ(f["default_variant"], "red");
  EXPECT_EQ(f["off_variant"], "grey") << "kept";
  EXPECT_EQ(f["type"], "string");
  EXPECT_EQ(f["variants"], json::parse(R"({"blue":"#00f","grey":"#888","red":"#f00"})"));
  EXPECT_EQ(f["description"], "d");
  EXPECT_EQ(body_of(req("GET", "/flags/colour")), f);
  EXPECT_EQ(in_feed("colour"), f);

  auto enabled = req("PUT", "/flags/colour", R"({"is_enabled":true})");
  ASSERT_EQ(enabled.status, 200) << describe(enabled);
  EXPECT_EQ(body_of(enabled)["default_variant"], "red") << "an update without the part keeps it";

  auto bad = req("PUT", "/flags/colour", R"({"default_variant":"green","is_enabled":false})");
  EXPECT_EQ(bad.status, 400) << describe(bad);
  EXPECT_EQ(code_of(bad), "invalid_flag");
  EXPECT_EQ(error_of(bad).rfind("default_variant", 0), 0u) << bad.body;
  EXPECT_EQ(body_of(req("GET", "/flags/colour")), body_of(enabled)) << "a refused update changes nothing";

  // A flag of today gets a variant part by a partial update over the implicit boolean one.
  created({{"name", "plain"}});
  auto off_by_default = req("PATCH", "/flags/plain", R"({"default_variant":"off"})");
  ASSERT_EQ(off_by_default.status, 200) << describe(off_by_default);
  json p = body_of(off_by_default);
  EXPECT_EQ(p["type"], "boolean");
  EXPECT_EQ(p["variants"], json::parse(R"({"off":false,"on":true})"));
  EXPECT_EQ(p["default_variant"], "off");
  EXPECT_EQ(p["off_variant"], "off");

  EXPECT_EQ(req("PATCH", "/flags/missing", R"({"default_variant":"off"})").status, 404);
}

TEST_P(FlagVariantsApiTest, ChangingTheTypeNeedsVariantsOfThatType) {
  created({{"name", "f"}});
  auto no_variants = req("PATCH", "/flags/f", R"({"type":"string"})");
  EXPECT_EQ(no_variants.status, 400) << describe(no_variants);
  EXPECT_EQ(code_of(no_variants), "invalid_flag");
  EXPECT_EQ(error_of(no_variants).rfind("variants", 0), 0u) << no_variants.body;
  EXPECT_EQ(keys_of(body_of(req("GET", "/flags/f"))), kLegacyKeys) << "still a flag of today";

  auto number = req("PATCH", "/flags/f",
                    R"({"type":"number","variants":{"low":1,"high":2},"default_variant":"low","off_variant":"low"})");
  ASSERT_EQ(number.status, 200) << describe(number);
  EXPECT_EQ(body_of(number)["type"], "number");

  auto wrong_type = req("PATCH", "/flags/f", R"({"type":"string"})");
  EXPECT_EQ(wrong_type.status, 400) << describe(wrong_type);
  EXPECT_EQ(error_of(wrong_type).rfind("variants.high", 0), 0u) << wrong_type.body;

  auto back = req("PATCH", "/flags/f", R"({"type":"boolean","variants":{"yes":true,"no":false},"default_variant":"yes","off_variant":"no"})");
  ASSERT_EQ(back.status, 200) << describe(back);
  EXPECT_EQ(body_of(back)["variants"], json::parse(R"({"no":false,"yes":true})"));
  EXPECT_EQ(body_of(req("GET", "/flags/f")), body_of(back));
}

TEST_P(FlagVariantsApiTest, UpdatesStillNeedAKnownField) {
  created({{"name", "f"}});
  for (std::string body : {R"({})", R"({"colour":"red"})", R"({"default_variant":null})"}) {
    SCOPED_TRACE(body);
    auto res = req("PATCH", "/flags/f", body);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "missing_field") << res.body;
  }
  EXPECT_EQ(req("PATCH", "/flags/f", R"({"name":"g","type":"boolean"})").status, 400) << "no rename";
  EXPECT_EQ(keys_of(body_of(req("GET", "/flags/f"))), kLegacyKeys);
}

// ---------------------------------------------------------------------------------------------
// GET /flags/{name}?include=rules

// flag-service and targeting-service know each other's URL: targeting follows flag-service, and
// flag-service, restarted on its port, is told where targeting-service is.
class IncludeRulesTest : public ::testing::Test {
 protected:
  IncludeRulesTest() {
    flags.stop();
    flags.config().targeting_url = targeting.url();
    flags.start();
  }
  ~IncludeRulesTest() override { flags.stop(); }  // answers targeting's parked poll

  TempDir dir;
  AuthService auth{dir};
  FlagService flags{dir, auth.url()};
  TargetingService targeting{dir, auth.url(), flags.url()};
  std::string key = auth.create_key("console");

  toggle::ClientResponse get(const std::string& path) { return call("GET", flags.url() + path, key); }
};

TEST_F(IncludeRulesTest, TheFlagComesWithItsRuleAndSegments) {
  flags.create("checkout", true);
  auto rule = call("POST", targeting.url() + "/rules", key,
                   R"({"flag_name":"checkout","rules":{"type":"PERCENTAGE","value":50}})");
  ASSERT_EQ(rule.status, 201) << describe(rule);

  auto plain = get("/flags/checkout");
  ASSERT_EQ(plain.status, 200) << describe(plain);
  EXPECT_EQ(keys_of(body_of(plain)), kLegacyKeys) << "without ?include the reply is unchanged";

  auto res = get("/flags/checkout?include=rules");
  ASSERT_EQ(res.status, 200) << describe(res);
  json f = body_of(res);
  json expected = body_of(plain);
  expected["rules"] = body_of(call("GET", targeting.url() + "/rules/checkout", key));
  expected["segments"] = json::array();
  EXPECT_EQ(f, expected);
  EXPECT_EQ(f["rules"]["rules"], json::parse(R"({"type":"PERCENTAGE","value":50})"));

  // A flag without a rule: "rules" is null.
  flags.create("bare", false);
  auto bare = get("/flags/bare?include=rules");
  ASSERT_EQ(bare.status, 200) << describe(bare);
  EXPECT_TRUE(body_of(bare)["rules"].is_null()) << bare.body;
  EXPECT_EQ(body_of(bare)["segments"], json::array());

  EXPECT_EQ(get("/flags/missing?include=rules").status, 404);
  // A key that may only read may read this too.
  EXPECT_EQ(call("GET", flags.url() + "/flags/checkout?include=rules", auth.create_key("reader", {"read"})).status, 200);
}

// A segment named by the rules that targeting-service does not have (deleted anyway; in_segment on
// it does not hold at evaluation) is left out of "segments", not an error. The record is written
// to targeting-service's store directly: its API refuses rules naming a missing segment.
TEST_F(IncludeRulesTest, ASegmentThatIsGoneIsLeftOut) {
  flags.create("checkout", true);
  const std::string rules =
      R"([{"conditions":[{"operator":"in_segment","values":["gone"]}],"serve":{"variant":"on"}}])";
  targeting.store().create("checkout", rules, true);
  auto res = get("/flags/checkout?include=rules");
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_EQ(body_of(res)["rules"]["rules"], json::parse(rules));
  EXPECT_EQ(body_of(res)["segments"], json::array());
}

TEST_F(IncludeRulesTest, AnUnknownIncludeIs400) {
  flags.create("f");
  for (std::string include : {"rule", "segments", "", "rules,segments"}) {
    SCOPED_TRACE(include);
    auto res = get("/flags/f?include=" + include);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_parameter") << res.body;
    EXPECT_NE(error_of(res).find("rules"), std::string::npos) << "names the allowed value: " << res.body;
  }
}

TEST_F(IncludeRulesTest, TargetingServiceDownIs503NamingIt) {
  flags.create("f");
  targeting.stop();
  auto res = get("/flags/f?include=rules");
  EXPECT_EQ(res.status, 503) << describe(res);
  EXPECT_EQ(code_of(res), "targeting_service_unavailable") << res.body;
  EXPECT_NE(error_of(res).find("targeting-service"), std::string::npos) << res.body;
  EXPECT_EQ(get("/flags/f").status, 200) << "a plain read does not need it";
}

}  // namespace
}  // namespace itest
