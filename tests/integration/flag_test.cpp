// flag-service: FlagStore on a real SQLite file (and a PostgreSQL database), and the real App served
// in-process behind a real auth-service.
#include <future>
#include <set>
#include <tuple>

#include "harness.hpp"

namespace itest {
namespace {

using toggle::flags::FlagStore;

// ---------------------------------------------------------------------------------------------
// FlagStore

// On SQLite and on PostgreSQL (the same store code).
class FlagStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  TempDir dir;
  TestDatabase database{GetParam(), dir, "flags"};
  std::unique_ptr<toggle::sql::Database> db = database.open();
  FlagStore store{*db, database.url()};
};
INSTANTIATE_TEST_SUITE_P(On, FlagStoreTest, kBackends, backend_name);

TEST_P(FlagStoreTest, CreateGetListRemove) {
  auto b = store.create("b-flag", "second", true);
  auto a = store.create("a-flag", "first", false);
  EXPECT_GT(a.id, 0);
  EXPECT_EQ(a.name, "a-flag");
  EXPECT_EQ(a.description, "first");
  EXPECT_FALSE(a.is_enabled);
  EXPECT_TRUE(is_iso8601_utc(a.created_at)) << a.created_at;
  EXPECT_EQ(a.created_at, a.updated_at);

  auto got = store.get("b-flag");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, b.id);
  EXPECT_EQ(got->description, "second");
  EXPECT_TRUE(got->is_enabled);
  EXPECT_FALSE(store.get("B-FLAG")) << "names are case-sensitive";
  EXPECT_FALSE(store.get("missing"));

  auto all = store.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a-flag") << "listed by name";
  EXPECT_EQ(all[1].name, "b-flag");

  auto removed = store.remove("a-flag");
  ASSERT_TRUE(removed);
  EXPECT_FALSE(store.get("a-flag"));
  EXPECT_FALSE(store.remove("a-flag")) << "already gone";
  EXPECT_EQ(store.list().size(), 1u);
}

TEST_P(FlagStoreTest, DuplicateNameIsAConflictAndChangesNothing) {
  store.create("dup", "original", true);
  std::int64_t version = store.feed().version();
  try {
    store.create("dup", "other", false);
    FAIL() << "duplicate accepted";
  } catch (const toggle::Error& e) {
    EXPECT_EQ(e.kind(), toggle::ErrorKind::conflict);
    EXPECT_EQ(e.code(), "flag_exists");
  }
  EXPECT_EQ(store.feed().version(), version) << "a failed write must not advance the version";
  EXPECT_EQ(store.get("dup")->description, "original");
}

TEST_P(FlagStoreTest, UpdateIsPartial) {
  auto created = store.create("f", "desc", false);
  auto enabled = store.update("f", std::nullopt, true);
  ASSERT_TRUE(enabled);
  EXPECT_TRUE(enabled->is_enabled);
  EXPECT_EQ(enabled->description, "desc") << "COALESCE keeps the unset description";
  EXPECT_EQ(enabled->created_at, created.created_at);
  EXPECT_TRUE(is_iso8601_utc(enabled->updated_at));
  EXPECT_GE(enabled->updated_at, created.updated_at);

  auto described = store.update("f", "new text", std::nullopt);
  ASSERT_TRUE(described);
  EXPECT_EQ(described->description, "new text");
  EXPECT_TRUE(described->is_enabled) << "COALESCE keeps the unset is_enabled";

  auto both = store.update("f", "", false);
  ASSERT_TRUE(both);
  EXPECT_EQ(both->description, "") << "an empty description is a value, not 'unset'";
  EXPECT_FALSE(both->is_enabled);

  EXPECT_FALSE(store.update("missing", "x", true));
}

TEST_P(FlagStoreTest, EveryWriteAdvancesTheVersionAndRemoveReturnsIt) {
  std::int64_t v0 = store.feed().version();
  auto a = store.create("a", "", false);
  EXPECT_GT(a.version, v0);
  EXPECT_EQ(store.feed().version(), a.version);
  EXPECT_EQ(store.feed().feed().version(), a.version) << "published to the change feed";
  auto updated = store.update("a", std::nullopt, true);
  EXPECT_GT(updated->version, a.version);
  auto b = store.create("b", "", false);
  EXPECT_GT(b.version, updated->version);
  ASSERT_TRUE(store.remove("a"));
  std::int64_t removed = store.feed().version();
  EXPECT_GT(removed, b.version);
  EXPECT_EQ(store.feed().feed().version(), removed) << "a deletion is published too";
  auto recreated = store.create("a", "again", true);
  EXPECT_GT(recreated.version, removed);
  EXPECT_FALSE(store.update("missing", "x", std::nullopt));
  EXPECT_FALSE(store.remove("missing"));
  EXPECT_EQ(store.feed().version(), recreated.version) << "writes that change nothing do not advance the version";
  EXPECT_EQ(store.feed().feed().version(), recreated.version);
}

TEST_P(FlagStoreTest, ChangesSinceIsFullWhenTheReaderCannotResume) {
  store.create("a", "", true);
  store.create("b", "", false);
  std::string epoch = store.feed().epoch();
  std::int64_t version = store.feed().version();
  EXPECT_FALSE(epoch.empty());

  json from_zero = changes_since(store.feed(), 0, epoch);
  EXPECT_EQ(from_zero["full"], true);
  EXPECT_EQ(from_zero["epoch"], epoch);
  EXPECT_EQ(from_zero["version"], version);
  ASSERT_EQ(from_zero["flags"].size(), 2u);
  EXPECT_EQ(from_zero["flags"][0]["name"], "a");
  EXPECT_TRUE(from_zero["deleted"].empty());

  json other_epoch = changes_since(store.feed(), version, "0123456789abcdef");
  EXPECT_EQ(other_epoch["full"], true) << "another history: resync in full";
  EXPECT_EQ(other_epoch["flags"].size(), 2u);

  json future = changes_since(store.feed(), version + 10, epoch);
  EXPECT_EQ(future["full"], true) << "a version this history never reached: resync in full";
  EXPECT_EQ(future["flags"].size(), 2u);

  json current = changes_since(store.feed(), version, epoch);
  EXPECT_EQ(current["full"], false);
  EXPECT_TRUE(current["flags"].empty());
  EXPECT_TRUE(current["deleted"].empty());
}

TEST_P(FlagStoreTest, ChangesSinceIsADeltaOfWritesAndDeletions) {
  store.create("kept", "", false);
  store.create("updated", "", false);
  store.create("deleted", "", true);
  std::string epoch = store.feed().epoch();
  std::int64_t seen = store.feed().version();

  store.update("updated", std::nullopt, true);
  store.remove("deleted");
  store.create("created", "new", true);

  json delta = changes_since(store.feed(), seen, epoch);
  EXPECT_EQ(delta["full"], false);
  EXPECT_EQ(delta["version"], store.feed().version());
  std::set<std::string> names;
  for (const auto& f : delta["flags"]) names.insert(f["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"updated", "created"}));
  for (const auto& f : delta["flags"]) {
    if (f["name"] == "updated") {
      EXPECT_EQ(f["is_enabled"], true);
    }
  }
  EXPECT_EQ(delta["deleted"], json::array({"deleted"}));

  // A deleted name created again is a change, not a deletion.
  std::int64_t before_recreate = store.feed().version();
  store.create("deleted", "back", false);
  json again = changes_since(store.feed(), seen, epoch);
  EXPECT_TRUE(again["deleted"].empty()) << "the name exists again";
  names.clear();
  for (const auto& f : again["flags"]) names.insert(f["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{"updated", "created", "deleted"}));
  json latest = changes_since(store.feed(), before_recreate, epoch);
  ASSERT_EQ(latest["flags"].size(), 1u);
  EXPECT_EQ(latest["flags"][0]["name"], "deleted");
  EXPECT_EQ(latest["flags"][0]["description"], "back");
}

TEST_P(FlagStoreTest, TheEpochOfADatabaseSurvivesAReopenAndDiffersBetweenDatabases) {
  std::string epoch;
  std::int64_t version = 0;
  {
    auto first_db = database.open();
    FlagStore first(*first_db, database.url());
    first.create("a", "", true);
    epoch = first.feed().epoch();
    version = first.feed().version();
  }  // closed: the store (and its PostgreSQL listener) before the database it reads
  auto reopened = database.open();
  FlagStore again(*reopened, database.url());
  EXPECT_EQ(again.feed().epoch(), epoch);
  EXPECT_EQ(again.feed().version(), version);
  EXPECT_EQ(again.feed().feed().version(), version) << "the feed starts at the stored version";

  TestDatabase other_database(GetParam(), dir, "other");
  auto other_db = other_database.open();
  FlagStore other(*other_db, other_database.url());
  EXPECT_NE(other.feed().epoch(), epoch);
}

// A file written before each feed had its own change-log tables (change_version, tombstones,
// and schema_migrations without components) is taken over with its history: same epoch, same
// version, same tombstones, so evaluation-service resumes without a full resync.
TEST(FlagStoreUpgradeTest, AFileFromBeforeScopedChangeLogsKeepsItsHistory) {
  TempDir dir;
  {
    auto old = toggle::sql::open_sqlite(dir.file("flags.db"));
    old->acquire()->script(std::string(R"(
      CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
      INSERT INTO schema_migrations VALUES (1, '2026-01-01T00:00:00.000Z');
      CREATE TABLE flags (
        id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, description TEXT,
        is_enabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 0);
      CREATE INDEX flags_version ON flags (version);)") +
                           std::string(toggle::changelog::kLegacySchemaSqlite) + R"(
      UPDATE change_version SET version = 7, epoch = 'feedfacefeedface';
      INSERT INTO flags (name, description, is_enabled, created_at, updated_at, version)
        VALUES ('kept', '', 1, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 6);
      INSERT INTO tombstones VALUES ('gone', 7);)");
  }
  auto db = toggle::sql::open_sqlite(dir.file("flags.db"));
  FlagStore store(*db, "sqlite:" + dir.file("flags.db"));
  EXPECT_EQ(store.feed().epoch(), "feedfacefeedface");
  EXPECT_EQ(store.feed().version(), 7);
  json delta = changes_since(store.feed(), 5, "feedfacefeedface");
  EXPECT_EQ(delta["full"], false);
  ASSERT_EQ(delta["flags"].size(), 1u);
  EXPECT_EQ(delta["flags"][0]["name"], "kept");
  EXPECT_EQ(delta["deleted"], json::array({"gone"}));
  EXPECT_EQ(store.create("new", "", true).version, 8);
  auto applied = db->exec("SELECT component, version FROM schema_migrations ORDER BY version").rows;
  ASSERT_EQ(applied.size(), 3u);
  EXPECT_EQ(applied[0].text(0), "flag-service");
  EXPECT_EQ(applied[1].integer(1), 2);
  EXPECT_EQ(applied[2].integer(1), 101) << "the flags' variants column";
  EXPECT_TRUE(db->exec("SELECT 1 FROM sqlite_master WHERE name IN ('change_version', 'tombstones')").rows.empty());
}

// ---------------------------------------------------------------------------------------------
// HTTP API

// On SQLite and on PostgreSQL.
class FlagApiTest : public ::testing::TestWithParam<Backend> {
 protected:
  TempDir dir;
  AuthService auth{dir};
  FlagService flags{dir, auth.url(), GetParam()};
  std::string key = auth.create_key("flag-admin");

  toggle::ClientResponse req(const std::string& method, const std::string& path, const std::string& body = "") {
    return call(method, flags.url() + path, key, body);
  }
  toggle::ClientResponse create(const std::string& name, bool enabled = false, const std::string& description = "") {
    return req("POST", "/flags", json{{"name", name}, {"description", description}, {"is_enabled", enabled}}.dump());
  }
};
INSTANTIATE_TEST_SUITE_P(On, FlagApiTest, kBackends, backend_name);

TEST_P(FlagApiTest, CrudLifecycle) {
  auto created = req("POST", "/flags", R"({"name":"new-checkout","description":"Checkout v2","is_enabled":true})");
  ASSERT_EQ(created.status, 201) << describe(created);
  json f = body_of(created);
  EXPECT_TRUE(f["id"].is_number_integer());
  EXPECT_EQ(f["name"], "new-checkout");
  EXPECT_EQ(f["description"], "Checkout v2");
  EXPECT_EQ(f["is_enabled"], true);
  EXPECT_TRUE(is_iso8601_utc(f["created_at"].get<std::string>())) << f;
  EXPECT_TRUE(is_iso8601_utc(f["updated_at"].get<std::string>())) << f;
  EXPECT_FALSE(f.contains("version")) << "internal";

  auto got = req("GET", "/flags/new-checkout");
  ASSERT_EQ(got.status, 200) << describe(got);
  EXPECT_EQ(body_of(got), f);

  auto defaults = req("POST", "/flags", R"({"name":"bare"})");
  ASSERT_EQ(defaults.status, 201) << describe(defaults);
  EXPECT_EQ(body_of(defaults)["description"], "");
  EXPECT_EQ(body_of(defaults)["is_enabled"], false) << "flags start disabled, as the original";

  auto list = req("GET", "/flags");
  ASSERT_EQ(list.status, 200) << describe(list);
  json all = body_of(list);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]["name"], "bare");
  EXPECT_EQ(all[1]["name"], "new-checkout");

  auto put = req("PUT", "/flags/new-checkout", R"({"is_enabled":false})");
  ASSERT_EQ(put.status, 200) << describe(put);
  EXPECT_EQ(body_of(put)["is_enabled"], false);
  EXPECT_EQ(body_of(put)["description"], "Checkout v2") << "PUT is a partial update";
  EXPECT_EQ(body_of(put)["created_at"], f["created_at"]);
  EXPECT_TRUE(is_iso8601_utc(body_of(put)["updated_at"].get<std::string>()));

  auto patch = req("PATCH", "/flags/new-checkout", R"({"description":"renamed text"})");
  ASSERT_EQ(patch.status, 200) << describe(patch);
  EXPECT_EQ(body_of(patch)["description"], "renamed text");
  EXPECT_EQ(body_of(patch)["is_enabled"], false);
  EXPECT_EQ(body_of(req("GET", "/flags/new-checkout"))["description"], "renamed text");

  auto del = req("DELETE", "/flags/new-checkout");
  EXPECT_EQ(del.status, 204) << describe(del);
  EXPECT_TRUE(del.body.empty());
  auto gone = req("GET", "/flags/new-checkout");
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(code_of(gone), "flag_not_found");
  EXPECT_NE(error_of(gone).find("new-checkout"), std::string::npos) << gone.body;
  EXPECT_EQ(req("DELETE", "/flags/new-checkout").status, 404);
  EXPECT_EQ(req("PUT", "/flags/new-checkout", R"({"is_enabled":true})").status, 404);
  EXPECT_EQ(req("PATCH", "/flags/new-checkout", R"({"is_enabled":true})").status, 404);
  EXPECT_EQ(body_of(req("GET", "/flags")).size(), 1u);
}

TEST_P(FlagApiTest, DuplicateNameIs409) {
  ASSERT_EQ(create("dup", true, "first").status, 201);
  auto again = create("dup", false, "second");
  EXPECT_EQ(again.status, 409) << describe(again);
  EXPECT_EQ(code_of(again), "flag_exists");
  EXPECT_NE(error_of(again).find("dup"), std::string::npos);
  EXPECT_EQ(body_of(req("GET", "/flags/dup"))["description"], "first");
}

TEST_P(FlagApiTest, InvalidNamesAre400) {
  const std::string longest(100, 'x');
  for (std::string name : {std::string(101, 'x'), std::string("a/b"), std::string("a b"), std::string("a%2Fb"),
                           std::string("caf\xc3\xa9"), std::string("new\nline"), std::string("")}) {
    SCOPED_TRACE(name);
    auto res = create(name);
    EXPECT_EQ(res.status, 400) << describe(res);
    EXPECT_EQ(code_of(res), name.empty() ? "missing_field" : "invalid_flag_name") << res.body;
  }
  EXPECT_EQ(create(longest).status, 201);
  EXPECT_EQ(create("Aa0_.-").status, 201);

  // The name in the path is checked after decoding.
  for (const std::string& path :
       std::vector<std::string>{"/flags/a%2Fb", "/flags/a%20b", "/flags/" + std::string(101, 'x'), "/flags/%zz"}) {
    SCOPED_TRACE(path);
    auto res = req("GET", path);
    EXPECT_EQ(res.status, 400);
    EXPECT_TRUE(code_of(res) == "invalid_flag_name" || code_of(res) == "invalid_path") << res.body;
    EXPECT_EQ(req("PUT", path, R"({"is_enabled":true})").status, 400);
    EXPECT_EQ(req("DELETE", path).status, 400);
  }
  EXPECT_EQ(req("GET", "/flags/" + longest).status, 200);
  EXPECT_EQ(body_of(req("GET", "/flags")).size(), 2u) << "nothing invalid was stored";
}

TEST_P(FlagApiTest, NullNameIs400Not409) {
  auto res = req("POST", "/flags", R"({"name":null,"is_enabled":true})");
  EXPECT_EQ(res.status, 400) << describe(res);
  EXPECT_NE(error_of(res).find("name"), std::string::npos);
  EXPECT_EQ(req("POST", "/flags", R"({"name":7})").status, 400);
  EXPECT_EQ(req("POST", "/flags", R"({"description":"no name"})").status, 400);
  EXPECT_EQ(body_of(req("GET", "/flags")).size(), 0u);
}

TEST_P(FlagApiTest, FieldTypesAndLengthsAreChecked) {
  for (std::string body :
       {R"({"name":"f","is_enabled":"yes"})", R"({"name":"f","is_enabled":1})", R"({"name":"f","description":5})"}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(req("POST", "/flags", body).status, 400);
  }
  EXPECT_EQ(req("POST", "/flags", json{{"name", "f"}, {"description", std::string(1001, 'd')}}.dump()).status, 400);
  auto longest = req("POST", "/flags", json{{"name", "f"}, {"description", std::string(1000, 'd')}}.dump());
  ASSERT_EQ(longest.status, 201) << describe(longest);

  EXPECT_EQ(req("PUT", "/flags/f", R"({"is_enabled":"yes"})").status, 400);
  EXPECT_EQ(req("PUT", "/flags/f", json{{"description", std::string(1001, 'd')}}.dump()).status, 400);
  EXPECT_EQ(body_of(req("GET", "/flags/f"))["description"], std::string(1000, 'd'));
}

TEST_P(FlagApiTest, MalformedBodiesAre400) {
  for (std::string body : {"{", "[]", "null", "\"x\"", "", "{\"name\":\"f\",}"}) {
    SCOPED_TRACE(body);
    auto res = req("POST", "/flags", body);
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(code_of(res), "invalid_json") << res.body;
  }
  ASSERT_EQ(create("f").status, 201);
  for (std::string body : {"{", "[]", ""}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(req("PUT", "/flags/f", body).status, 400);
  }
}

TEST_P(FlagApiTest, UpdateNeedsAKnownFieldAndCannotRename) {
  ASSERT_EQ(create("f", true, "text").status, 201);
  for (std::string body : {R"({})", R"({"enabled":false})", R"({"description":null})", R"({"name":"f"})"}) {
    SCOPED_TRACE(body);
    auto res = req("PUT", "/flags/f", body);
    EXPECT_EQ(res.status, 400) << describe(res);
  }
  auto rename = req("PUT", "/flags/f", R"({"name":"g","is_enabled":false})");
  EXPECT_EQ(rename.status, 400) << describe(rename);
  EXPECT_EQ(req("GET", "/flags/g").status, 404);
  EXPECT_EQ(body_of(req("GET", "/flags/f"))["is_enabled"], true) << "a refused update changes nothing";

  auto same_name = req("PATCH", "/flags/f", R"({"name":"f","is_enabled":false})");
  EXPECT_EQ(same_name.status, 200) << "repeating the same name is not a rename: " << describe(same_name);
}

TEST_P(FlagApiTest, EveryRouteNeedsAValidKey) {
  ASSERT_EQ(create("f").status, 201);
  struct Route {
    std::string method, path, body;
  };
  const std::vector<Route> routes = {{"POST", "/flags", R"({"name":"g"})"},
                                     {"GET", "/flags", ""},
                                     {"GET", "/flags/f", ""},
                                     {"PUT", "/flags/f", R"({"is_enabled":true})"},
                                     {"PATCH", "/flags/f", R"({"is_enabled":true})"},
                                     {"DELETE", "/flags/f", ""},
                                     {"GET", "/changes", ""}};
  for (const auto& r : routes) {
    SCOPED_TRACE(r.method + " " + r.path);
    auto none = call(r.method, flags.url() + r.path, "", r.body);
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(code_of(none), "missing_key");
    auto wrong = call(r.method, flags.url() + r.path, "tm_key_" + std::string(64, 'f'), r.body);
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(code_of(wrong), "invalid_key");
    EXPECT_EQ(call(r.method, flags.url() + r.path, kMasterKey, r.body).status, 401) << "the master key is no API key";
  }
  // Checked before the body is read: no key and a bad body is still 401.
  EXPECT_EQ(call("POST", flags.url() + "/flags", "", "{").status, 401);
  EXPECT_EQ(body_of(req("GET", "/flags/f"))["is_enabled"], false) << "nothing changed";
  // A bare key (no "Bearer ") works, as in the original.
  EXPECT_EQ(call_with_headers("GET", flags.url() + "/flags", {{"Authorization", key}}).status, 200);
}

TEST_P(FlagApiTest, RevokedKeyIsRefused) {
  std::string doomed = auth.create_key("doomed");
  auth.revoke_key("doomed");
  EXPECT_EQ(call("GET", flags.url() + "/flags", doomed).status, 401);
}

// Scopes: `read` reads, `write` writes; a valid key without the route's scope is 403.
TEST_P(FlagApiTest, AKeyOnlyDoesWhatItsScopesAllow) {
  ASSERT_EQ(create("f", true).status, 201);
  std::string reader = auth.create_key("reader", {"read"});
  EXPECT_EQ(call("GET", flags.url() + "/flags", reader).status, 200);
  EXPECT_EQ(call("GET", flags.url() + "/flags/f", reader).status, 200);
  EXPECT_EQ(call("GET", flags.url() + "/changes?since=0", reader).status, 200);
  for (const auto& [method, path, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"POST", "/flags", R"({"name":"g"})"},
           {"PUT", "/flags/f", R"({"is_enabled":false})"},
           {"PATCH", "/flags/f", R"({"is_enabled":false})"},
           {"DELETE", "/flags/f", ""}}) {
    SCOPED_TRACE(method + " " + path);
    auto res = call(method, flags.url() + path, reader, body);
    EXPECT_EQ(res.status, 403) << describe(res);
    EXPECT_EQ(code_of(res), "missing_scope");
    EXPECT_NE(error_of(res).find("write"), std::string::npos) << res.body;
  }
  EXPECT_EQ(body_of(req("GET", "/flags/f"))["is_enabled"], true) << "nothing changed";
  EXPECT_EQ(req("GET", "/flags/g").status, 404);

  std::string writer = auth.create_key("writer", {"write"});
  EXPECT_EQ(call("PUT", flags.url() + "/flags/f", writer, R"({"is_enabled":false})").status, 200);
  auto read = call("GET", flags.url() + "/flags", writer);
  EXPECT_EQ(read.status, 403) << "write does not imply read: " << describe(read);
  std::string events_only = auth.create_key("events-only", {"events"});
  EXPECT_EQ(call("GET", flags.url() + "/flags", events_only).status, 403);
  EXPECT_EQ(call("GET", flags.url() + "/changes", events_only).status, 403);
}

TEST_P(FlagApiTest, AuthServiceDownIs503Not401) {
  std::string fresh = auth.create_key("never-used-before");  // not in flag-service's cache
  auth.stop();
  auto res = call("GET", flags.url() + "/flags", fresh);
  EXPECT_EQ(res.status, 503) << describe(res);
  EXPECT_EQ(code_of(res), "auth_unavailable");
  EXPECT_NE(error_of(res).find("auth"), std::string::npos) << res.body;
  EXPECT_EQ(call("POST", flags.url() + "/flags", fresh, R"({"name":"x"})").status, 503);
  EXPECT_EQ(call("GET", flags.url() + "/flags", "").status, 401) << "no key at all needs no auth-service";
  // The service key is still accepted, checked locally: service-to-service calls survive.
  auto service = call("POST", flags.url() + "/flags", kServiceKey, R"({"name":"during-the-outage"})");
  EXPECT_EQ(service.status, 201) << describe(service);
  EXPECT_EQ(call("GET", flags.url() + "/flags/during-the-outage", kServiceKey).status, 200);

  auth.start();
  auto back = call("GET", flags.url() + "/flags", fresh);
  EXPECT_EQ(back.status, 200) << "an unavailable verdict is not cached: " << describe(back);
}

TEST_P(FlagApiTest, ChangesFeedGivesFullThenDelta) {
  ASSERT_EQ(create("a", true).status, 201);
  ASSERT_EQ(create("b", false).status, 201);
  auto full = req("GET", "/changes?since=0");
  ASSERT_EQ(full.status, 200) << describe(full);
  json f = body_of(full);
  EXPECT_EQ(f["full"], true);
  EXPECT_EQ(f["flags"].size(), 2u);
  EXPECT_TRUE(f["deleted"].empty());
  std::int64_t version = f["version"].get<std::int64_t>();
  std::string epoch = f["epoch"].get<std::string>();

  ASSERT_EQ(req("PUT", "/flags/b", R"({"is_enabled":true})").status, 200);
  ASSERT_EQ(req("DELETE", "/flags/a").status, 204);
  auto delta = req("GET", "/changes?since=" + std::to_string(version) + "&epoch=" + epoch);
  ASSERT_EQ(delta.status, 200) << describe(delta);
  json d = body_of(delta);
  EXPECT_EQ(d["full"], false);
  EXPECT_EQ(d["epoch"], epoch);
  EXPECT_GT(d["version"].get<std::int64_t>(), version);
  ASSERT_EQ(d["flags"].size(), 1u);
  EXPECT_EQ(d["flags"][0]["name"], "b");
  EXPECT_EQ(d["flags"][0]["is_enabled"], true);
  EXPECT_EQ(d["deleted"], json::array({"a"}));

  auto wrong_epoch = body_of(req("GET", "/changes?since=" + std::to_string(version) + "&epoch=feedfacefeedface"));
  EXPECT_EQ(wrong_epoch["full"], true);
  EXPECT_EQ(wrong_epoch["flags"].size(), 1u);

  for (const std::string& query : std::vector<std::string>{"since=-1", "since=abc", "wait_ms=60001", "wait_ms=-5",
                                                           "epoch=" + std::string(65, 'e')}) {
    SCOPED_TRACE(query);
    EXPECT_EQ(req("GET", "/changes?" + query).status, 400);
  }
}

TEST_P(FlagApiTest, ParkedLongPollIsAnsweredByAWrite) {
  ASSERT_EQ(create("watched", false).status, 201);
  json now = body_of(req("GET", "/changes?since=0"));
  std::int64_t version = now["version"].get<std::int64_t>();
  std::string epoch = now["epoch"].get<std::string>();
  std::string poll_url =
      flags.url() + "/changes?since=" + std::to_string(version) + "&epoch=" + epoch + "&wait_ms=5000";

  auto poll = std::async(std::launch::async, [&] { return call("GET", poll_url, key, "", 10000ms); });
  ASSERT_EQ(poll.wait_for(300ms), std::future_status::timeout) << "answered with nothing new: " << describe(poll.get());
  ASSERT_EQ(req("PUT", "/flags/watched", R"({"is_enabled":true})").status, 200);
  ASSERT_EQ(poll.wait_for(4000ms), std::future_status::ready) << "the write did not wake the parked poll";
  auto res = poll.get();
  ASSERT_EQ(res.status, 200) << describe(res);
  json d = body_of(res);
  EXPECT_EQ(d["full"], false);
  EXPECT_EQ(d["version"].get<std::int64_t>(), version + 1);
  ASSERT_EQ(d["flags"].size(), 1u);
  EXPECT_EQ(d["flags"][0]["name"], "watched");
  EXPECT_EQ(d["flags"][0]["is_enabled"], true);

  // A deletion wakes a parked poll too.
  std::string next_url =
      flags.url() + "/changes?since=" + std::to_string(version + 1) + "&epoch=" + epoch + "&wait_ms=5000";
  auto second = std::async(std::launch::async, [&] { return call("GET", next_url, key, "", 10000ms); });
  ASSERT_EQ(second.wait_for(300ms), std::future_status::timeout);
  ASSERT_EQ(req("DELETE", "/flags/watched").status, 204);
  ASSERT_EQ(second.wait_for(4000ms), std::future_status::ready);
  json gone = body_of(second.get());
  EXPECT_TRUE(gone["flags"].empty());
  EXPECT_EQ(gone["deleted"], json::array({"watched"}));
}

TEST_P(FlagApiTest, LongPollWithoutChangesEndsAtItsWait) {
  ASSERT_EQ(create("f").status, 201);  // version 1: version 0 always gets the full set
  json now = body_of(req("GET", "/changes"));
  std::int64_t version = now["version"].get<std::int64_t>();
  auto started = std::chrono::steady_clock::now();
  auto res = req("GET", "/changes?since=" + std::to_string(version) + "&epoch=" + now["epoch"].get<std::string>() +
                            "&wait_ms=200");
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4000ms);
  json d = body_of(res);
  EXPECT_EQ(d["full"], false);
  EXPECT_EQ(d["version"], version);
  EXPECT_TRUE(d["flags"].empty());
  EXPECT_TRUE(d["deleted"].empty());
}

// Regression (fixed; libs/core/src/change_feed.cpp, ChangeFeed::wait): a reader whose `since` is ahead of the
// feed's version in the same epoch (e.g. the database was restored from a backup, which keeps its
// epoch) is treated as up to date and parked for its whole wait, although changelog::read() answers
// such a reader with the full set, and writes do not wake it (loop() wakes only `since < version`).
TEST_P(FlagApiTest, ASinceAheadOfTheVersionIsAnsweredAtOnceInFull) {
  ASSERT_EQ(create("f").status, 201);
  json now = body_of(req("GET", "/changes"));
  ASSERT_EQ(now["version"], 1);
  auto started = std::chrono::steady_clock::now();
  auto res = call("GET", flags.url() + "/changes?since=50&epoch=" + now["epoch"].get<std::string>() + "&wait_ms=4000",
                  key, "", 10000ms);
  ASSERT_EQ(res.status, 200) << describe(res);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2000ms) << "parked instead of answered";
  EXPECT_EQ(body_of(res)["full"], true);
  EXPECT_EQ(body_of(res)["flags"].size(), 1u);
}

}  // namespace
}  // namespace itest
