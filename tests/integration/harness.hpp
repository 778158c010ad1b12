// Shared set-up for the integration tests: each service is its real App (services/*/app.hpp),
// built from its Config by the constructor main() calls, and served over HTTP on 127.0.0.1 on a
// free port by testsupport::RunningApp. Its data is an SQLite file in a fresh temporary directory
// or, with Backend::postgres, a fresh database on the test run's real PostgreSQL server
// (tests/support/postgres_server.hpp). Services that need another one (every key check goes to
// auth-service; targeting follows flag-service; evaluation needs flag, targeting and analytics)
// get the real other service, started the same way.
//
//   itest::TempDir dir;
//   itest::AuthService auth(dir);
//   itest::FlagService flags(dir, auth.url());
//   auto res = itest::call("POST", flags.url() + "/flags", itest::kServiceKey, R"({"name":"x"})");
//   auto flags_b = itest::replica_of(flags);   // another replica on the same database
//
// Each Config is the one main() builds: Config::from_env() read once, before the first test, in
// an environment that holds only the two keys below (so every setting has its real default), and
// then told where this test's databases and services are. A test that needs another setting
// passes an `adjust` function, and says why.
//
// Services are started by their constructor and stopped by their destructor; stop() and start()
// take one down and bring it back on the same port, as a process restart would (a new App).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "analytics-service/app.hpp"
#include "analytics-service/sql_event_store.hpp"
#include "auth-service/app.hpp"
#include "evaluation-service/app.hpp"
#include "eventually.hpp"
#include "flag-service/app.hpp"
#include "postgres_server.hpp"
#include "running_app.hpp"
#include "targeting-service/app.hpp"
#include "toggle/core/client.hpp"
#include "toggle/core/config.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/database.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/sql.hpp"
#include "toggle/core/text.hpp"

extern char** environ;

namespace itest {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testsupport::eventually;
using toggle::json;

// The master key of the test auth-service, and the service key (SERVICE_API_KEY) every service
// is configured with: auth-service registers it at start, the others use it among themselves.
inline const std::string kMasterKey = "it-master-key-0123456789";
inline const std::string kServiceKey = "tm_key_it_service_internal";

// A fresh directory (mkdtemp) removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "togglemaster-it-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// ---------------------------------------------------------------------------------------------
// Databases

// Where a test's stores keep their data. Tests written for both run as a value-parameterized
// suite: INSTANTIATE_TEST_SUITE_P(On, SomeStoreTest, kBackends, backend_name) names them
// "On/SomeStoreTest.Case/sqlite" and ".../postgres" (ctest gives the second ones the PostgreSQL
// server of the run).
enum class Backend { sqlite, postgres };
inline const auto kBackends = ::testing::Values(Backend::sqlite, Backend::postgres);
inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::sqlite ? "sqlite" : "postgres";
}
inline void PrintTo(Backend backend, std::ostream* os) { *os << (backend == Backend::sqlite ? "sqlite" : "postgres"); }

// A fresh, empty database for one test: the SQLite file `name`.db in `dir`, or a new database on
// the test PostgreSQL server, dropped at the end of the test.
class TestDatabase {
 public:
  TestDatabase(Backend backend, const TempDir& dir, const std::string& name) : backend_(backend) {
    if (backend == Backend::sqlite) {
      path_ = dir.file(name + ".db");
      url_ = "sqlite:" + path_;
    } else {
      scratch_ = std::make_unique<testsupport::ScratchDatabase>();
      url_ = scratch_->url();
    }
  }
  // An existing database (e.g. one the seed created), not dropped at the end.
  explicit TestDatabase(std::string url)
      : backend_(toggle::sql::is_postgres_url(url) ? Backend::postgres : Backend::sqlite), url_(std::move(url)) {
    if (backend_ == Backend::sqlite && url_.rfind("sqlite:", 0) == 0) path_ = url_.substr(7);
  }
  // A new connection (pool) to it, for a test's own statements; several may be open at once.
  std::unique_ptr<toggle::sql::Database> open() const {
    toggle::sql::Options options;
    options.pool_size = 4;
    return toggle::sql::open_database(url_, "", options);
  }
  Backend backend() const { return backend_; }
  const std::string& url() const { return url_; }
  const std::string& sqlite_path() const { return path_; }  // Backend::sqlite

 private:
  Backend backend_;
  std::unique_ptr<testsupport::ScratchDatabase> scratch_;
  std::string url_, path_;
};

// ---------------------------------------------------------------------------------------------
// HTTP

// One call with the real client. `key` non-empty: sent as "Authorization: Bearer <key>".
inline toggle::ClientResponse call(const std::string& method, const std::string& url, const std::string& key = "",
                                   const std::string& body = "", std::chrono::milliseconds timeout = 5000ms) {
  toggle::ClientRequest req;
  req.method = method;
  req.url = url;
  if (!key.empty()) req.headers.emplace_back("Authorization", "Bearer " + key);
  req.body = body;
  req.timeout = timeout;
  return toggle::HttpClient().send(req);
}

// One call with exactly these headers.
inline toggle::ClientResponse call_with_headers(const std::string& method, const std::string& url,
                                                std::vector<std::pair<std::string, std::string>> headers,
                                                const std::string& body = "") {
  toggle::ClientRequest req;
  req.method = method;
  req.url = url;
  req.headers = std::move(headers);
  req.body = body;
  req.timeout = 5000ms;
  return toggle::HttpClient().send(req);
}

// The reply body as JSON (discarded value if it is not JSON).
inline json body_of(const std::string& body) { return json::parse(body, nullptr, false); }
inline json body_of(const toggle::ClientResponse& res) { return body_of(res.body); }

// A string field of an error reply ("error", "code", "request_id"), or "" if there is none.
inline std::string field_of(const std::string& body, const char* field) {
  json j = body_of(body);
  return j.is_object() && j.contains(field) && j[field].is_string() ? j[field].get<std::string>() : "";
}
inline std::string error_of(const toggle::ClientResponse& res) { return field_of(res.body, "error"); }
inline std::string code_of(const toggle::ClientResponse& res) { return field_of(res.body, "code"); }

// Readable description of a reply for assertion messages.
inline std::string describe(const toggle::ClientResponse& res) {
  return "HTTP " + std::to_string(res.status) + " body=" + res.body + (res.error.empty() ? "" : " error=" + res.error);
}

// A reply with its headers, which toggle::ClientResponse does not show.
struct RawReply {
  int status = 0;  // 0: no reply
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The first header named `name` (any case), or nullopt.
  std::optional<std::string> header(std::string_view name) const {
    for (const auto& [n, v] : headers)
      if (toggle::iequals(n, name)) return v;
    return std::nullopt;
  }
  std::string describe() const { return "HTTP " + std::to_string(status) + " body=" + body; }
};

// How raw_call sends its body.
struct RawSend {
  // Declared instead of the body's size: a body announced and not (all) sent.
  std::optional<std::size_t> content_length;
  // A pause between the headers and the body, so that the server reads them apart.
  std::chrono::milliseconds body_after{0};
};

// One HTTP/1.1 request to `url` (http://127.0.0.1:PORT/...) over a connection of its own, read
// to its end (Connection: close), or for 5 s.
inline RawReply raw_call(const std::string& method, const std::string& url,
                         const std::vector<std::pair<std::string, std::string>>& headers = {},
                         const std::string& body = "", RawSend how = {}) {
  const std::string prefix = "http://127.0.0.1:";
  if (url.rfind(prefix, 0) != 0) throw std::invalid_argument("raw_call: not a loopback URL: " + url);
  std::size_t slash = url.find('/', prefix.size());
  int port = std::stoi(url.substr(prefix.size(), slash - prefix.size()));
  std::string target = slash == std::string::npos ? "/" : url.substr(slash);

  std::string request = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [n, v] : headers) request += n + ": " + v + "\r\n";
  if (!body.empty() || how.content_length || method == "POST" || method == "PUT" || method == "PATCH")
    request += "Content-Length: " + std::to_string(how.content_length.value_or(body.size())) + "\r\n";
  request += "\r\n";
  if (how.body_after == 0ms) request += body;

  RawReply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return reply;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string raw;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    if (how.body_after > 0ms) {
      std::this_thread::sleep_for(how.body_after);
      ::send(fd, body.data(), body.size(), MSG_NOSIGNAL);
    }
    char buf[16384];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);

  std::size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return reply;
  reply.status = std::stoi(raw.substr(9, 3));
  std::istringstream lines(raw.substr(0, end));
  std::string line;
  std::getline(lines, line);  // the status line
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    reply.headers.emplace_back(line.substr(0, colon), value);
  }
  reply.body = raw.substr(end + 4);
  return reply;
}

// ISO-8601 UTC with milliseconds, as toggle::iso8601() writes it.
inline bool is_iso8601_utc(const std::string& s) {
  if (s.size() != 24) return false;
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i]) return false;
  }
  return true;
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream data;
  data << in.rdbuf();
  return data.str();
}

// What GET /changes?since=&epoch= answers from `store` now: the reply its change feed builds.
inline json changes_since(toggle::FeedStore& store, std::int64_t since, const std::string& epoch) {
  auto reply = store.feed().wait(since, epoch, 0ms);
  const auto* response = std::get_if<toggle::Response>(&reply);
  if (!response || response->status != 200) throw std::runtime_error("the change feed did not answer at once");
  return json::parse(response->body);
}

// ---------------------------------------------------------------------------------------------
// Configurations

// Each service's Config as its main() builds it (Config::from_env) from an environment that
// holds only MASTER_KEY and SERVICE_API_KEY (and LOG_LEVEL, if the test run sets it): the real
// defaults of every other setting, whatever the environment the tests run in.
struct MainConfigs {
  toggle::auth::AuthService::Config auth;
  toggle::flags::FlagService::Config flags;
  toggle::targeting::TargetingService::Config targeting;
  toggle::analytics::AnalyticsService::Config analytics;
  toggle::evaluation::EvaluationService::Config evaluation;
};

namespace detail {

inline std::unique_ptr<MainConfigs>& main_configs_slot() {
  static std::unique_ptr<MainConfigs> configs;
  return configs;
}

// Reads them once, before the first test: setenv() and getenv() are not thread-safe, and no
// service (no thread) runs yet then. The process's environment is restored afterwards.
class ReadMainConfigs : public ::testing::Environment {
 public:
  void SetUp() override {
    std::vector<std::pair<std::string, std::string>> saved;
    for (char** e = environ; e && *e; ++e) {
      std::string kv = *e;
      auto eq = kv.find('=');
      if (eq != std::string::npos) saved.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    std::string log_level;
    for (const auto& [k, v] : saved)
      if (k == "LOG_LEVEL") log_level = v;
    ::clearenv();
    ::setenv("MASTER_KEY", kMasterKey.c_str(), 1);
    ::setenv("SERVICE_API_KEY", kServiceKey.c_str(), 1);
    if (!log_level.empty()) ::setenv("LOG_LEVEL", log_level.c_str(), 1);

    toggle::Env env;
    auto settings = toggle::ServiceSettings::from_env(env, "integration-tests", 0);
    auto configs = std::make_unique<MainConfigs>();
    configs->auth = toggle::auth::AuthService::Config::from_env(env, settings);
    configs->flags = toggle::flags::FlagService::Config::from_env(env, settings);
    configs->targeting = toggle::targeting::TargetingService::Config::from_env(env, settings);
    configs->analytics = toggle::analytics::AnalyticsService::Config::from_env(env, settings);
    configs->evaluation = toggle::evaluation::EvaluationService::Config::from_env(env, settings);

    ::clearenv();
    for (const auto& [k, v] : saved) ::setenv(k.c_str(), v.c_str(), 1);
    if (!env.problems().empty()) throw std::runtime_error("the services' configuration: " + env.problems().front());
    main_configs_slot() = std::move(configs);
  }
};

inline ::testing::Environment* const kReadMainConfigs = ::testing::AddGlobalTestEnvironment(new ReadMainConfigs);

}  // namespace detail

inline const MainConfigs& main_configs() {
  if (!detail::main_configs_slot()) throw std::logic_error("main_configs() used before the tests started");
  return *detail::main_configs_slot();
}

using AuthConfig = toggle::auth::AuthService::Config;
using FlagConfig = toggle::flags::FlagService::Config;
using TargetingConfig = toggle::targeting::TargetingService::Config;
using AnalyticsConfig = toggle::analytics::AnalyticsService::Config;
using EvaluationConfig = toggle::evaluation::EvaluationService::Config;

// Where this test's things are: what the environment of each process would say (DATABASE_URL,
// DATA_DIR, *_SERVICE_URL), applied to the fields main() derives from it.
inline AuthConfig auth_config(const TestDatabase& db) {
  AuthConfig c = main_configs().auth;
  c.database.url = db.url();
  return c;
}
inline FlagConfig flag_config(const TestDatabase& db, const std::string& auth_url) {
  FlagConfig c = main_configs().flags;
  c.auth_url = auth_url;
  c.database.url = db.url();
  return c;
}
inline TargetingConfig targeting_config(const TestDatabase& db, const std::string& auth_url,
                                        const std::string& flag_url) {
  TargetingConfig c = main_configs().targeting;
  c.auth_url = auth_url;
  c.flags.base_url = flag_url;
  c.database.url = db.url();
  return c;
}
inline AnalyticsConfig analytics_config(const TestDatabase& db, const std::string& auth_url) {
  AnalyticsConfig c = main_configs().analytics;
  c.auth_url = auth_url;
  c.database.url = db.url();
  // In-process, SCHED_IDLE would apply to the test's own thread and to every thread started
  // after it (the other services', the test's): the whole test would run at idle priority.
  c.idle_priority = false;
  return c;
}
inline EvaluationConfig evaluation_config(const TempDir& dir, const std::string& auth_url, const std::string& flag_url,
                                          const std::string& targeting_url, const std::string& analytics_url) {
  EvaluationConfig c = main_configs().evaluation;
  c.flag_url = c.misses.flag_service_url = flag_url;
  c.targeting_url = c.misses.targeting_service_url = targeting_url;
  c.analytics_url = analytics_url;
  c.auth_url = auth_url;
  c.events.spool_dir = dir.file("evaluation-spool");
  return c;
}

// ---------------------------------------------------------------------------------------------
// The five services

namespace detail {
// Holds the service's test database; a base listed before RunningApp, so that the database
// exists before the App opens it and is dropped only after the App is gone.
struct DatabaseHolder {
  std::shared_ptr<const TestDatabase> database;
};
}  // namespace detail

// A service's App served by testsupport::RunningApp, with the database it uses.
template <class ServiceApp>
class Hosted : private detail::DatabaseHolder, public testsupport::RunningApp<ServiceApp> {
 public:
  using Config = typename ServiceApp::Config;
  using Adjust = std::function<void(Config&)>;

  Hosted(std::shared_ptr<const TestDatabase> database, Config config, const Adjust& adjust = {})
      : DatabaseHolder{std::move(database)}, testsupport::RunningApp<ServiceApp>(adjusted(std::move(config), adjust)) {}
  // Another replica of `other`: the same configuration (so the same database), its own port.
  struct Replica {};
  Hosted(const Hosted& other, Replica)
      : DatabaseHolder{other.database}, testsupport::RunningApp<ServiceApp>(other.config()) {}

  // The database (nullptr for evaluation-service, which has none).
  const TestDatabase* test_database() const { return database.get(); }
  const std::string& database_url() const { return database->url(); }
  const std::string& db_path() const { return database->sqlite_path(); }  // Backend::sqlite

 private:
  static Config adjusted(Config config, const Adjust& adjust) {
    if (adjust) adjust(config);
    return config;
  }
};

// Another replica of `service` on the same database (another process of it, in production).
template <class Service>
Service replica_of(const Service& service) {
  return Service(service, typename Service::Replica{});
}

class AuthService : public Hosted<toggle::auth::AuthService> {
 public:
  explicit AuthService(const TempDir& dir, Backend backend = Backend::sqlite, const Adjust& adjust = {})
      : AuthService(std::make_shared<TestDatabase>(backend, dir, "auth"), adjust) {}
  AuthService(const AuthService& other, Replica r) : Hosted(other, r) {}

  toggle::auth::KeyStore& store() { return app().store(); }
  toggle::sql::Database& database() { return app().database(); }

  // A new API key through POST /admin/keys; `scopes` empty: created without (the default scopes).
  std::string create_key(const std::string& name = "it-key", const std::vector<std::string>& scopes = {}) {
    json body = {{"name", name}};
    if (!scopes.empty()) body["scopes"] = scopes;
    auto res = call("POST", url() + "/admin/keys", kMasterKey, body.dump());
    if (res.status != 201) throw std::runtime_error("cannot create an API key: " + describe(res));
    return body_of(res).at("key").get<std::string>();
  }
  // Revokes the key named `name` through DELETE /admin/keys/{id}.
  void revoke_key(const std::string& name) {
    for (const auto& k : body_of(call("GET", url() + "/admin/keys", kMasterKey)))
      if (k.at("name") == name) {
        auto res = call("DELETE", url() + "/admin/keys/" + std::to_string(k.at("id").get<std::int64_t>()), kMasterKey);
        if (res.status != 204) throw std::runtime_error("cannot revoke " + name + ": " + describe(res));
        return;
      }
    throw std::runtime_error("no API key named " + name);
  }

 private:
  AuthService(std::shared_ptr<const TestDatabase> db, const Adjust& adjust) : Hosted(db, auth_config(*db), adjust) {}
};

class FlagService : public Hosted<toggle::flags::FlagService> {
 public:
  FlagService(const TempDir& dir, const std::string& auth_url, Backend backend = Backend::sqlite,
              const Adjust& adjust = {})
      : FlagService(std::make_shared<TestDatabase>(backend, dir, "flags"), auth_url, adjust) {}
  // On an existing database (e.g. the seed's).
  FlagService(const std::string& database_url, const std::string& auth_url)
      : FlagService(std::make_shared<TestDatabase>(database_url), auth_url, {}) {}
  FlagService(const FlagService& other, Replica r) : Hosted(other, r) {}

  toggle::flags::FlagStore& store() { return app().store(); }
  toggle::sql::Database& database() { return app().database(); }
  toggle::ChangeFeed& feed() { return app().store().feed().feed(); }

  // POST /flags with the service key; throws unless it is created.
  void create(const std::string& name, bool enabled = true) {
    auto res = call("POST", url() + "/flags", kServiceKey, json{{"name", name}, {"is_enabled", enabled}}.dump());
    if (res.status != 201) throw std::runtime_error("cannot create flag " + name + ": " + describe(res));
  }

 private:
  FlagService(std::shared_ptr<const TestDatabase> db, const std::string& auth_url, const Adjust& adjust)
      : Hosted(db, flag_config(*db, auth_url), adjust) {}
};

class TargetingService : public Hosted<toggle::targeting::TargetingService> {
 public:
  TargetingService(const TempDir& dir, const std::string& auth_url, const std::string& flag_url,
                   Backend backend = Backend::sqlite, const Adjust& adjust = {})
      : TargetingService(std::make_shared<TestDatabase>(backend, dir, "targeting"), auth_url, flag_url, adjust) {}
  // On an existing database (e.g. the seed's).
  TargetingService(const std::string& database_url, const std::string& auth_url, const std::string& flag_url)
      : TargetingService(std::make_shared<TestDatabase>(database_url), auth_url, flag_url, {}) {}
  TargetingService(const TargetingService& other, Replica r) : Hosted(other, r) {}

  toggle::targeting::RuleStore& store() { return app().store(); }
  toggle::sql::Database& database() { return app().database(); }
  toggle::ChangeFeed& feed() { return app().store().feed().feed(); }

 private:
  TargetingService(std::shared_ptr<const TestDatabase> db, const std::string& auth_url, const std::string& flag_url,
                   const Adjust& adjust)
      : Hosted(db, targeting_config(*db, auth_url, flag_url), adjust) {}
};

class AnalyticsService : public Hosted<toggle::analytics::AnalyticsService> {
 public:
  AnalyticsService(const TempDir& dir, const std::string& auth_url, Backend backend = Backend::sqlite,
                   const Adjust& adjust = {})
      : AnalyticsService(std::make_shared<TestDatabase>(backend, dir, "analytics"), auth_url, adjust) {}
  AnalyticsService(const AnalyticsService& other, Replica r) : Hosted(other, r) {}

  toggle::EventStore& store() { return app().store(); }

 private:
  AnalyticsService(std::shared_ptr<const TestDatabase> db, const std::string& auth_url, const Adjust& adjust)
      : Hosted(db, analytics_config(*db, auth_url), adjust) {}
};

class EvaluationService : public Hosted<toggle::evaluation::EvaluationService> {
 public:
  EvaluationService(const TempDir& dir, const std::string& auth_url, const std::string& flag_url,
                    const std::string& targeting_url, const std::string& analytics_url, const Adjust& adjust = {})
      : Hosted(nullptr, evaluation_config(dir, auth_url, flag_url, targeting_url, analytics_url), adjust) {}
  EvaluationService(const EvaluationService& other, Replica r) : Hosted(other, r) {}

  toggle::evaluation::Catalog& catalog() { return app().catalog(); }

  toggle::ClientResponse evaluate(const std::string& user_id, const std::string& flag_name,
                                  const std::string& key = "") {
    return call("GET", url() + "/evaluate?user_id=" + user_id + "&flag_name=" + flag_name, key);
  }
};

// All five services, each on its own port and database, in one temporary directory.
struct Platform {
  explicit Platform(const EvaluationService::Adjust& adjust_evaluation = {})
      : auth(dir),
        flags(dir, auth.url()),
        targeting(dir, auth.url(), flags.url()),
        analytics(dir, auth.url()),
        evaluation(dir, auth.url(), flags.url(), targeting.url(), analytics.url(), adjust_evaluation) {}
  ~Platform() {
    // The feeds first: stopping them answers the followers' parked polls, so that evaluation- and
    // targeting-service stop at once; evaluation then delivers its last events to analytics.
    flags.stop();
    targeting.stop();
    evaluation.stop();
  }

  TempDir dir;
  AuthService auth;
  FlagService flags;
  TargetingService targeting;
  AnalyticsService analytics;
  EvaluationService evaluation;
};

}  // namespace itest
