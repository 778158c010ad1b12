// auth-service: KeyStore on a real SQLite file (and a PostgreSQL database), and the real App served
// in-process: keys, their scopes, the master key, and the error codes clients branch on.
#include <regex>
#include <set>

#include "harness.hpp"

namespace itest {
namespace {

using toggle::auth::KeyStore;
using toggle::crypto::sha256_hex;

const toggle::ScopeSet kNoScopes{};  // created without scopes: the default ones

std::int64_t count_rows(toggle::sql::Database& db, const std::string& where, std::string_view param) {
  return db.exec("SELECT COUNT(*) FROM api_keys WHERE " + where, {param}).rows.at(0).integer(0);
}

// ---------------------------------------------------------------------------------------------
// KeyStore

// On SQLite and on PostgreSQL (the same store code).
class KeyStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  TempDir dir;
  TestDatabase database{GetParam(), dir, "auth"};
  std::unique_ptr<toggle::sql::Database> db = database.open();
  KeyStore store{*db};
};
INSTANTIATE_TEST_SUITE_P(On, KeyStoreTest, kBackends, backend_name);

TEST_P(KeyStoreTest, CreateThenFindActiveByHash) {
  auto created = store.create("ci", sha256_hex("tm_key_a"), kNoScopes);
  EXPECT_GT(created.id, 0);
  EXPECT_EQ(created.name, "ci");
  EXPECT_TRUE(created.is_active);
  EXPECT_TRUE(is_iso8601_utc(created.created_at)) << created.created_at;
  EXPECT_FALSE(created.revoked_at);

  auto found = store.find_active(sha256_hex("tm_key_a"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, created.id);
  EXPECT_EQ(found->name, "ci");
  EXPECT_FALSE(store.find_active(sha256_hex("tm_key_b")));
}

TEST_P(KeyStoreTest, SameHashTwiceIsAConflict) {
  store.create("one", sha256_hex("tm_key_a"), kNoScopes);
  try {
    store.create("two", sha256_hex("tm_key_a"), kNoScopes);
    FAIL() << "a second key with the same hash was stored";
  } catch (const toggle::Error& e) {
    EXPECT_EQ(e.kind(), toggle::ErrorKind::conflict);
  }
}

TEST_P(KeyStoreTest, ListIsOrderedById) {
  auto a = store.create("first", sha256_hex("a"), kNoScopes);
  auto b = store.create("second", sha256_hex("b"), kNoScopes);
  auto keys = store.list();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].id, a.id);
  EXPECT_EQ(keys[0].name, "first");
  EXPECT_EQ(keys[1].id, b.id);
  EXPECT_EQ(keys[1].name, "second");
  EXPECT_LT(a.id, b.id);
}

TEST_P(KeyStoreTest, RevokeDeactivatesAndIsIdempotent) {
  auto k = store.create("ci", sha256_hex("tm_key_a"), kNoScopes);
  EXPECT_TRUE(store.revoke(k.id));
  EXPECT_FALSE(store.find_active(sha256_hex("tm_key_a")));
  auto listed = store.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_FALSE(listed[0].is_active);
  ASSERT_TRUE(listed[0].revoked_at);
  EXPECT_TRUE(is_iso8601_utc(*listed[0].revoked_at)) << *listed[0].revoked_at;
  std::string first_revoked_at = *listed[0].revoked_at;

  EXPECT_TRUE(store.revoke(k.id)) << "revoking twice is not an error";
  EXPECT_EQ(*store.list()[0].revoked_at, first_revoked_at) << "a second revoke must not move revoked_at";
  EXPECT_FALSE(store.revoke(k.id + 1000)) << "unknown id";
}

TEST_P(KeyStoreTest, EnsureOfARevokedHashKeepsItRevoked) {
  auto k = store.create("service", sha256_hex("tm_key_service"), kNoScopes);
  ASSERT_TRUE(store.revoke(k.id));
  EXPECT_FALSE(store.ensure("service", sha256_hex("tm_key_service"), toggle::service_scopes()));
  EXPECT_FALSE(store.find_active(sha256_hex("tm_key_service")));
  EXPECT_EQ(count_rows(*db, "key_hash = $1", sha256_hex("tm_key_service")), 1);
}

TEST_P(KeyStoreTest, EnsureTwiceStoresOneRow) {
  EXPECT_TRUE(store.ensure("service", sha256_hex("tm_key_service"), toggle::service_scopes()));
  EXPECT_TRUE(store.ensure("service", sha256_hex("tm_key_service"), toggle::service_scopes()));
  EXPECT_EQ(count_rows(*db, "key_hash = $1", sha256_hex("tm_key_service")), 1);
  EXPECT_TRUE(store.find_active(sha256_hex("tm_key_service")));
  EXPECT_EQ(store.list().size(), 1u);
}

TEST_P(KeyStoreTest, ScopesAreStoredAndAKeyWithoutHasTheDefaults) {
  auto plain = store.create("plain", sha256_hex("tm_key_plain"), kNoScopes);
  EXPECT_EQ(plain.scopes, toggle::default_scopes());
  auto reader = store.create("reader", sha256_hex("tm_key_reader"), {toggle::Scope::read});
  EXPECT_EQ(reader.scopes, toggle::ScopeSet{toggle::Scope::read});
  EXPECT_EQ(store.find_active(sha256_hex("tm_key_reader"))->scopes, toggle::ScopeSet{toggle::Scope::read});
  EXPECT_EQ(store.find_active(sha256_hex("tm_key_plain"))->scopes, toggle::default_scopes());
  EXPECT_EQ(store.list()[1].scopes, toggle::ScopeSet{toggle::Scope::read});

  // A service key registered before scopes existed (stored without) gets the service's at start.
  store.create("service", sha256_hex("tm_key_service"), kNoScopes);
  EXPECT_TRUE(store.ensure("service", sha256_hex("tm_key_service"), toggle::service_scopes()));
  EXPECT_EQ(store.find_active(sha256_hex("tm_key_service"))->scopes, toggle::service_scopes());
  // One that has scopes keeps them.
  EXPECT_TRUE(store.ensure("reader", sha256_hex("tm_key_reader"), toggle::service_scopes()));
  EXPECT_EQ(store.find_active(sha256_hex("tm_key_reader"))->scopes, toggle::ScopeSet{toggle::Scope::read});
}

TEST_P(KeyStoreTest, ReopeningTheDatabaseKeepsKeysAndReappliesNoMigration) {
  auto k = store.create("ci", sha256_hex("tm_key_a"), kNoScopes);
  store.revoke(store.create("old", sha256_hex("tm_key_b"), kNoScopes).id);
  db.reset();
  auto reopened = database.open();
  KeyStore again(*reopened);
  auto found = again.find_active(sha256_hex("tm_key_a"));
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, k.id);
  EXPECT_FALSE(again.find_active(sha256_hex("tm_key_b")));
  EXPECT_EQ(again.list().size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// HTTP API

// On SQLite and on PostgreSQL.
class AuthApiTest : public ::testing::TestWithParam<Backend> {
 protected:
  TempDir dir;
  AuthService auth{dir, GetParam()};

  toggle::ClientResponse create(const std::string& path, const std::string& body, const std::string& key = kMasterKey) {
    return call("POST", auth.url() + path, key, body);
  }
  toggle::ClientResponse validate(const std::string& key, const std::string& method = "GET") {
    return call(method, auth.url() + "/validate", key);
  }
};
INSTANTIATE_TEST_SUITE_P(On, AuthApiTest, kBackends, backend_name);

TEST_P(AuthApiTest, CreateKeyOnBothPathsAnswers201WithTheKeyShownOnce) {
  const std::regex key_shape("^tm_key_[0-9a-f]{64}$");
  std::set<std::string> keys;
  for (std::string path : {"/admin/keys", "/keys"}) {
    SCOPED_TRACE(path);
    auto res = create(path, R"({"name":"ci-pipeline"})");
    ASSERT_EQ(res.status, 201) << describe(res);
    json j = body_of(res);
    ASSERT_TRUE(j.is_object()) << res.body;
    for (const char* field : {"id", "name", "key", "message", "created_at"})
      EXPECT_TRUE(j.contains(field)) << "missing " << field << " in " << res.body;
    EXPECT_TRUE(j["id"].is_number_integer());
    EXPECT_EQ(j["name"], "ci-pipeline");
    std::string key = j["key"].get<std::string>();
    EXPECT_TRUE(std::regex_match(key, key_shape)) << key;
    EXPECT_TRUE(j["message"].is_string() && !j["message"].get<std::string>().empty());
    EXPECT_TRUE(is_iso8601_utc(j["created_at"].get<std::string>())) << j["created_at"];
    EXPECT_FALSE(j.contains("key_hash"));
    EXPECT_EQ(validate(key).status, 200) << "a new key is valid at once";
    keys.insert(key);
  }
  EXPECT_EQ(keys.size(), 2u) << "keys are random";
}

TEST_P(AuthApiTest, TheDatabaseHoldsOnlyTheSha256OfTheKey) {
  auto res = create("/admin/keys", R"({"name":"secret-check"})");
  ASSERT_EQ(res.status, 201) << describe(res);
  std::string key = body_of(res)["key"].get<std::string>();
  std::int64_t id = body_of(res)["id"].get<std::int64_t>();

  auto& db = auth.database();
  auto rows = db.exec("SELECT * FROM api_keys").rows;
  ASSERT_EQ(rows.size(), 2u);  // the service key and this one
  for (const auto& row : rows)
    for (const auto& value : row.values) {
      ASSERT_TRUE(!value || value->find(key) == std::string::npos) << "the key itself is stored";
      ASSERT_TRUE(!value || value->find(key.substr(7)) == std::string::npos) << "the key's secret part is stored";
    }
  auto mine = db.exec("SELECT key_hash FROM api_keys WHERE id = $1", {id}).rows;
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].text(0), sha256_hex(key));

  // Nor anywhere else on disk (database file, WAL, ...).
  if (GetParam() == Backend::postgres) return;  // the server's files are not the test's to read
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(read_file(entry.path()).find(key.substr(7)), std::string::npos) << entry.path();
}

// A missing or invalid key is 401 everywhere, the master key's routes included; a valid API key
// without the admin scope is 403.
TEST_P(AuthApiTest, MissingOrWrongKeyIs401AndAKeyWithoutTheAdminScopeIs403) {
  std::string normal = auth.create_key("normal");
  for (std::string path : {"/admin/keys", "/keys"}) {
    SCOPED_TRACE(path);
    auto none = call("POST", auth.url() + path, "", R"({"name":"x"})");
    EXPECT_EQ(none.status, 401) << describe(none);
    EXPECT_EQ(code_of(none), "missing_key");
    auto wrong = create(path, R"({"name":"x"})", "not-the-master-key");
    EXPECT_EQ(wrong.status, 401) << describe(wrong);
    EXPECT_EQ(code_of(wrong), "invalid_key");
    for (const std::string& key : {kServiceKey, normal}) {
      auto unscoped = create(path, R"({"name":"x"})", key);
      EXPECT_EQ(unscoped.status, 403) << "an API key without the admin scope: " << describe(unscoped);
      EXPECT_EQ(code_of(unscoped), "missing_scope");
      EXPECT_NE(error_of(unscoped).find("admin"), std::string::npos) << unscoped.body;
    }
  }
  EXPECT_EQ(call("GET", auth.url() + "/admin/keys").status, 401);
  EXPECT_EQ(call("GET", auth.url() + "/admin/keys", "wrong").status, 401);
  EXPECT_EQ(call("GET", auth.url() + "/admin/keys", normal).status, 403);
  EXPECT_EQ(call("DELETE", auth.url() + "/admin/keys/1").status, 401);
  EXPECT_EQ(call("DELETE", auth.url() + "/admin/keys/1", "wrong").status, 401);
  EXPECT_EQ(call("DELETE", auth.url() + "/admin/keys/1", normal).status, 403);
  EXPECT_EQ(validate(kServiceKey).status, 200) << "the service key was not revoked by the refused DELETE";
  // "Bearer" alone (HTTP trims the trailing space) carries no key.
  auto scheme_only =
      call_with_headers("POST", auth.url() + "/admin/keys", {{"Authorization", "Bearer "}}, R"({"name":"x"})");
  EXPECT_EQ(scheme_only.status, 401) << describe(scheme_only);
  EXPECT_EQ(auth.store().list().size(), 2u) << "only the service key registered at start and 'normal'";
}

// The admin key is checked from the headers: a refused request is answered without its body
// being waited for (only the headers are sent; reading the body would leave the reply unsent).
TEST_P(AuthApiTest, ARefusedKeyCreationIsAnsweredBeforeTheBodyIsRead) {
  std::string normal = auth.create_key("normal");
  const RawSend announced_only{.content_length = 60000};
  auto none = raw_call("POST", auth.url() + "/admin/keys", {}, "", announced_only);
  EXPECT_EQ(none.status, 401) << none.describe();
  EXPECT_EQ(field_of(none.body, "code"), "missing_key");
  auto unscoped = raw_call("POST", auth.url() + "/keys", {{"Authorization", "Bearer " + normal}}, "", announced_only);
  EXPECT_EQ(unscoped.status, 403) << unscoped.describe();
  EXPECT_EQ(field_of(unscoped.body, "code"), "missing_scope");
  auto admitted = raw_call("POST", auth.url() + "/admin/keys", {{"Authorization", "Bearer " + kMasterKey}},
                           R"({"name":"late-body"})", {.body_after = 200ms});
  EXPECT_EQ(admitted.status, 201) << admitted.describe();
}

TEST_P(AuthApiTest, KeysHaveScopesThatValidateReports) {
  auto plain = create("/admin/keys", R"({"name":"plain"})");
  ASSERT_EQ(plain.status, 201) << describe(plain);
  EXPECT_EQ(body_of(plain)["scopes"], json({"write", "read", "evaluate"})) << "created without scopes: the defaults";
  auto reader = create("/admin/keys", R"({"name":"reader","scopes":["read"]})");
  ASSERT_EQ(reader.status, 201) << describe(reader);
  EXPECT_EQ(body_of(reader)["scopes"], json({"read"}));
  auto ops = create("/admin/keys", R"({"name":"ops","scopes":["events","admin","read","admin"]})");
  ASSERT_EQ(ops.status, 201) << describe(ops);
  EXPECT_EQ(body_of(ops)["scopes"], json({"admin", "read", "events"})) << "each once, in a fixed order";

  auto scopes_of = [&](const toggle::ClientResponse& created) {
    auto res = validate(body_of(created)["key"].get<std::string>());
    EXPECT_EQ(res.status, 200) << describe(res);
    return body_of(res)["scopes"];
  };
  EXPECT_EQ(scopes_of(plain), json({"write", "read", "evaluate"}));
  EXPECT_EQ(scopes_of(reader), json({"read"}));
  EXPECT_EQ(scopes_of(ops), json({"admin", "read", "events"}));
  EXPECT_EQ(body_of(validate(kServiceKey))["scopes"], json({"write", "read", "evaluate", "events"}))
      << "the service key";

  // Listed with their scopes.
  json list = body_of(call("GET", auth.url() + "/admin/keys", kMasterKey));
  ASSERT_EQ(list.size(), 4u);
  EXPECT_EQ(list[2]["name"], "reader");
  EXPECT_EQ(list[2]["scopes"], json({"read"}));

  for (std::string scopes : {R"([])", R"(["root"])", R"("read")", R"([1])", R"(["read",null])", R"({"read":true})"}) {
    SCOPED_TRACE(scopes);
    auto res = create("/admin/keys", R"({"name":"bad","scopes":)" + scopes + "}");
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_field");
    EXPECT_NE(error_of(res).find("scopes"), std::string::npos) << res.body;
  }
  EXPECT_EQ(auth.store().list().size(), 4u) << "nothing refused was stored";
}

TEST_P(AuthApiTest, AKeyWithTheAdminScopeManagesKeys) {
  std::string admin = auth.create_key("admin-bot", {"admin"});
  auto created = create("/admin/keys", R"({"name":"made-by-a-key","scopes":["read"]})", admin);
  ASSERT_EQ(created.status, 201) << describe(created);
  std::string key = body_of(created)["key"].get<std::string>();
  EXPECT_EQ(validate(key).status, 200);

  auto list = call("GET", auth.url() + "/admin/keys", admin);
  ASSERT_EQ(list.status, 200) << describe(list);
  EXPECT_EQ(body_of(list).size(), 3u);

  auto id = body_of(created)["id"].get<std::int64_t>();
  auto revoked = call("DELETE", auth.url() + "/admin/keys/" + std::to_string(id), admin);
  EXPECT_EQ(revoked.status, 204) << describe(revoked);
  EXPECT_EQ(validate(key).status, 401);

  // Once revoked itself, it manages nothing.
  auth.revoke_key("admin-bot");
  auto after = call("GET", auth.url() + "/admin/keys", admin);
  EXPECT_EQ(after.status, 401) << describe(after);
  EXPECT_EQ(code_of(after), "invalid_key");
}

TEST_P(AuthApiTest, InvalidNamesAre400) {
  const std::string too_long(101, 'n');
  for (std::string body : {std::string(R"({})"), std::string(R"({"name":""})"), std::string(R"({"name":null})"),
                           std::string(R"({"name":42})"), std::string(R"({"name":["a"]})"),
                           std::string(R"({"name":true})"), json{{"name", too_long}}.dump()}) {
    SCOPED_TRACE(body);
    auto res = create("/admin/keys", body);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_NE(error_of(res).find("name"), std::string::npos) << res.body;
    EXPECT_TRUE(code_of(res) == "missing_field" || code_of(res) == "invalid_field") << res.body;
  }
  auto longest = create("/admin/keys", json{{"name", std::string(100, 'n')}}.dump());
  EXPECT_EQ(longest.status, 201) << describe(longest);
  EXPECT_EQ(auth.store().list().size(), 2u);
}

TEST_P(AuthApiTest, MalformedOrNonObjectBodyIs400) {
  for (std::string body : {"{\"name\": ", "not json", "[\"name\"]", "\"name\"", ""}) {
    SCOPED_TRACE(body);
    auto res = create("/admin/keys", body);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_FALSE(error_of(res).empty()) << res.body;
    EXPECT_EQ(code_of(res), "invalid_json");
  }
}

TEST_P(AuthApiTest, ListShowsKeysWithoutSecrets) {
  std::string key = auth.create_key("listed");
  auto res = call("GET", auth.url() + "/admin/keys", kMasterKey);
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_EQ(res.body.find(key.substr(7)), std::string::npos);
  EXPECT_EQ(res.body.find(sha256_hex(key)), std::string::npos);
  json list = body_of(res);
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 2u);  // the service key and "listed"
  EXPECT_EQ(list[0]["name"], "service");
  EXPECT_EQ(list[1]["name"], "listed");
  for (const auto& k : list) {
    EXPECT_FALSE(k.contains("key"));
    EXPECT_FALSE(k.contains("key_hash"));
    EXPECT_TRUE(k.contains("id"));
    EXPECT_EQ(k["is_active"], true);
    EXPECT_TRUE(k["revoked_at"].is_null());
  }
}

TEST_P(AuthApiTest, RevokedKeyIsRefusedByValidate) {
  auto created = create("/admin/keys", R"({"name":"to-revoke"})");
  ASSERT_EQ(created.status, 201);
  std::string key = body_of(created)["key"].get<std::string>();
  std::int64_t id = body_of(created)["id"].get<std::int64_t>();
  ASSERT_EQ(validate(key).status, 200);

  auto del = call("DELETE", auth.url() + "/admin/keys/" + std::to_string(id), kMasterKey);
  EXPECT_EQ(del.status, 204) << describe(del);
  EXPECT_TRUE(del.body.empty()) << del.body;
  EXPECT_EQ(validate(key).status, 401);

  json list = body_of(call("GET", auth.url() + "/admin/keys", kMasterKey));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["is_active"], false);
  EXPECT_TRUE(is_iso8601_utc(list[1]["revoked_at"].get<std::string>())) << list[1];
  EXPECT_EQ(validate(kServiceKey).status, 200) << "other keys are untouched";

  // Revoking again is not an error; the key stays revoked.
  EXPECT_EQ(call("DELETE", auth.url() + "/admin/keys/" + std::to_string(id), kMasterKey).status, 204);
  EXPECT_EQ(validate(key).status, 401);
}

TEST_P(AuthApiTest, RevokeUnknownIdIs404AndNonNumericIs400) {
  auto unknown = call("DELETE", auth.url() + "/admin/keys/9999", kMasterKey);
  EXPECT_EQ(unknown.status, 404) << describe(unknown);
  EXPECT_EQ(code_of(unknown), "key_not_found");
  for (std::string id : {"abc", "1a", "-1", "0", "1.5", "%31%2F", "99999999999999999999"}) {
    SCOPED_TRACE(id);
    auto res = call("DELETE", auth.url() + "/admin/keys/" + id, kMasterKey);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), "invalid_parameter");
  }
}

TEST_P(AuthApiTest, ValidateAcceptsBearerOrBareKeyWithAnyMethod) {
  std::string key = auth.create_key();
  for (std::string method : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    SCOPED_TRACE(method);
    auto bearer = call_with_headers(method, auth.url() + "/validate", {{"Authorization", "Bearer " + key}});
    EXPECT_EQ(bearer.status, 200) << describe(bearer);
    auto bare = call_with_headers(method, auth.url() + "/validate", {{"Authorization", key}});
    EXPECT_EQ(bare.status, 200) << describe(bare);
    auto missing = call_with_headers(method, auth.url() + "/validate", {});
    EXPECT_EQ(missing.status, 401) << describe(missing);
    EXPECT_EQ(code_of(missing), "missing_key");
  }
  json ok = body_of(call_with_headers("GET", auth.url() + "/validate", {{"Authorization", "Bearer " + key}}));
  EXPECT_EQ(ok["valid"], true);
  EXPECT_EQ(ok["name"], "it-key");
}

TEST_P(AuthApiTest, ValidateRefusesUnknownEmptyAndMasterKeys) {
  auto unknown = validate("tm_key_" + std::string(64, '0'));
  EXPECT_EQ(unknown.status, 401);
  EXPECT_EQ(code_of(unknown), "invalid_key");
  EXPECT_EQ(call_with_headers("GET", auth.url() + "/validate", {{"Authorization", "Bearer "}}).status, 401);
  EXPECT_EQ(call_with_headers("GET", auth.url() + "/validate", {{"Authorization", ""}}).status, 401);
  EXPECT_EQ(validate(kMasterKey).status, 401) << "the master key is not an API key";
  EXPECT_EQ(validate(kServiceKey).status, 200) << "the service key registered at start";
}

}  // namespace
}  // namespace itest
