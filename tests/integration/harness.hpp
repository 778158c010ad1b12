// Shared set-up for the integration tests: each service's real store on an SQLite file in a fresh
// temporary directory (or, with Backend::postgres, a fresh database on the test run's real
// PostgreSQL server, tests/support/postgres_server.hpp), and its real routes served over HTTP by a
// toggle::Server bound to 127.0.0.1 on a free port. Services that need another one (every key check goes to
// auth-service; evaluation needs flag, targeting and analytics) get the real other service, started the same way.
//
//   itest::TempDir dir;
//   itest::AuthService auth(dir);
//   itest::FlagService flags(dir, auth.url());
//   auto res = itest::call("POST", flags.url() + "/flags", itest::kServiceKey, R"({"name":"x"})");
//
// Services are started by their constructor and stopped by their destructor (or stop()); a stopped
// service can be started again on the same port (start()), which is how the tests take one down.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "analytics-service/api.hpp"
#include "analytics-service/event_store.hpp"
#include "auth-service/api.hpp"
#include "auth-service/key_store.hpp"
#include "evaluation-service/catalog.hpp"
#include "evaluation-service/evaluate_api.hpp"
#include "evaluation-service/event_sender.hpp"
#include "evaluation-service/feed_follower.hpp"
#include "evaluation-service/miss_fetcher.hpp"
#include "flag-service/api.hpp"
#include "flag-service/flag_store.hpp"
#include "postgres_server.hpp"
#include "targeting-service/api.hpp"
#include "targeting-service/rule_store.hpp"
#include "toggle/core/auth.hpp"
#include "toggle/core/client.hpp"
#include "toggle/core/crypto.hpp"
#include "toggle/core/json.hpp"
#include "toggle/core/router.hpp"
#include "toggle/core/server.hpp"
#include "toggle/core/database.hpp"
#include "toggle/core/migrate.hpp"
#include "toggle/core/sql.hpp"
#include "toggle/core/text.hpp"

namespace itest {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using toggle::json;

// The master key of the test auth-service, and the service key it registers at start (as
// auth-service's main() does with SERVICE_API_KEY) and that analytics accepts for POST /events.
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
      url_ = "sqlite:" + dir.file(name + ".db");
    } else {
      scratch_ = std::make_unique<testsupport::ScratchDatabase>();
      url_ = scratch_->url();
    }
  }
  // An existing database (e.g. the one another replica uses), not dropped at the end.
  explicit TestDatabase(std::string url)
      : backend_(toggle::sql::is_postgres_url(url) ? Backend::postgres : Backend::sqlite), url_(std::move(url)) {}
  // A new connection (pool) to it; several may be open at once.
  std::unique_ptr<toggle::sql::Database> open() const {
    toggle::sql::Options options;
    options.pool_size = 4;
    return toggle::sql::open_database(url_, "", options);
  }
  Backend backend() const { return backend_; }
  const std::string& url() const { return url_; }

 private:
  Backend backend_;
  std::unique_ptr<testsupport::ScratchDatabase> scratch_;
  std::string url_;
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
inline json body_of(const toggle::ClientResponse& res) { return json::parse(res.body, nullptr, false); }

// The "error" message of an error reply, or "" if there is none.
inline std::string error_of(const toggle::ClientResponse& res) {
  json j = body_of(res);
  return j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>() : "";
}

// Readable description of a reply for assertion messages.
inline std::string describe(const toggle::ClientResponse& res) {
  return "HTTP " + std::to_string(res.status) + " body=" + res.body + (res.error.empty() ? "" : " error=" + res.error);
}

// Waits until `condition()` holds or `deadline` passes; returns whether it held.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds deadline = 10000ms) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(10ms);
  }
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

// ---------------------------------------------------------------------------------------------
// Servers

inline toggle::ServerOptions local_options(std::uint16_t port) {
  return toggle::ServerOptions{.host = "127.0.0.1", .port = port, .io_threads = 2, .worker_threads = 4};
}

// A router served on 127.0.0.1. The first start picks a free port; later starts reuse it, so a
// client configured with url() finds the service again after a restart.
class LocalServer {
 public:
  struct DeferStart {};
  static constexpr DeferStart kDeferStart{};

  explicit LocalServer(const toggle::Router& router) : router_(router) { start(); }
  LocalServer(const toggle::Router& router, DeferStart) : router_(router) {}
  ~LocalServer() { stop(); }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  // `port` 0: the port of the previous start, or any free port the first time.
  void start(std::uint16_t port = 0) {
    if (server_) return;
    if (port != 0) port_ = port;
    server_ = std::make_unique<toggle::Server>(local_options(port_), router_);
    server_->start();
    port_ = server_->port();
  }
  // Graceful stop, as Service::run() does: stop accepting, run `on_drain` (e.g. answer long
  // polls), wait for in-flight requests; then `on_stopped`, while the stopped server still exists.
  void stop(const std::function<void()>& on_drain = {}, const std::function<void()>& on_stopped = {}) {
    if (!server_) return;
    server_->begin_stop();
    if (on_drain) on_drain();
    server_->finish_stop(3000ms);
    if (on_stopped) on_stopped();
    server_.reset();
  }
  bool running() const { return server_ != nullptr; }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  const toggle::Router& router_;
  std::uint16_t port_ = 0;
  std::unique_ptr<toggle::Server> server_;
};

// ---------------------------------------------------------------------------------------------
// The five services, each on its own database file and server.

class AuthService {
 public:
  explicit AuthService(const TempDir& dir, Backend backend = Backend::sqlite)
      : database_(backend, dir, "auth"), db_path_(dir.file("auth.db")), db_(database_.open()), store_(*db_) {
    store_.ensure("service", toggle::crypto::sha256_hex(kServiceKey));
    toggle::auth::add_routes(router_, store_, {kMasterKey});
    server_ = std::make_unique<LocalServer>(router_);
  }
  ~AuthService() { server_->stop(); }

  std::string url() const { return server_->url(); }
  void stop() { server_->stop(); }
  void start() { server_->start(); }
  toggle::auth::KeyStore& store() { return store_; }
  const std::string& db_path() const { return db_path_; }  // Backend::sqlite
  toggle::sql::Database& database() { return *db_; }

  // A new API key through POST /admin/keys.
  std::string create_key(const std::string& name = "it-key") {
    auto res = call("POST", url() + "/admin/keys", kMasterKey, json{{"name", name}}.dump());
    if (res.status != 201) throw std::runtime_error("cannot create an API key: " + describe(res));
    return body_of(res).at("key").get<std::string>();
  }

 private:
  TestDatabase database_;
  std::string db_path_;
  std::unique_ptr<toggle::sql::Database> db_;
  toggle::auth::KeyStore store_;
  toggle::Router router_;
  std::unique_ptr<LocalServer> server_;
};

// flag-service and targeting-service: a store behind an Api with a change feed. stop() answers the
// parked long polls while draining, as their main() does; start() serves again on the same port
// with a new Api (a new process would have a new feed, too).
template <class Store, class Api>
class FeedService {
 public:
  FeedService(const TempDir& dir, const std::string& db_name, const std::string& auth_url, Backend backend)
      : database_(backend, dir, db_name),
        db_path_(dir.file(db_name + ".db")),
        db_(database_.open()),
        store_(*db_),
        keys_(auth_url) {
    start();
  }
  // Another replica: the same database as the service whose database_url() this is.
  FeedService(const std::string& database_url, const std::string& auth_url)
      : database_(database_url), db_(database_.open()), store_(*db_), keys_(auth_url) {
    start();
  }
  ~FeedService() { stop(); }
  FeedService(const FeedService&) = delete;
  FeedService& operator=(const FeedService&) = delete;

  void start() {
    if (running_) return;
    running_ = std::make_unique<Running>(store_, keys_, port_, database_);
    port_ = running_->server.port();
  }
  void stop() {
    if (!running_) return;
    running_->server.stop([this] { running_->api->feed().close(); });
    running_.reset();
  }
  // Answer the parked long polls now (and later ones at once), as on shutdown.
  void close_feed() {
    if (running_) running_->api->feed().close();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  Store& store() { return store_; }
  const std::string& db_path() const { return db_path_; }  // Backend::sqlite
  toggle::sql::Database& database() { return *db_; }
  const std::string& database_url() const { return database_.url(); }
  // The feed of the running Api (between start() and stop()).
  toggle::ChangeFeed& feed() { return running_->api->feed(); }

 private:
  // On PostgreSQL, wired as main() does: LISTEN/NOTIFY wakes this replica's long polls for the
  // writes of every other replica on the same database.
  struct Running {
    Running(Store& store, toggle::KeyValidator& keys, std::uint16_t port, const TestDatabase& database)
        : api(std::make_unique<Api>(store, keys)) {
      api->add_routes(router);
      if (database.backend() == Backend::postgres)
        replicas = std::make_unique<toggle::changelog::ReplicaSync>(database.url(), Store::changes_scope(), api->feed(),
                                                                    [&store] { return store.version(); });
      server.start(port);
    }
    std::unique_ptr<Api> api;
    std::unique_ptr<toggle::changelog::ReplicaSync> replicas;
    toggle::Router router;
    LocalServer server{router, LocalServer::kDeferStart};
  };

  TestDatabase database_;
  std::string db_path_;
  std::unique_ptr<toggle::sql::Database> db_;
  Store store_;
  toggle::KeyValidator keys_;
  std::uint16_t port_ = 0;
  std::unique_ptr<Running> running_;
};

class FlagService : public FeedService<toggle::flags::FlagStore, toggle::flags::Api> {
 public:
  FlagService(const TempDir& dir, const std::string& auth_url, Backend backend = Backend::sqlite)
      : FeedService(dir, "flags", auth_url, backend) {}
  FlagService(const std::string& database_url, const std::string& auth_url) : FeedService(database_url, auth_url) {}
};

class TargetingService : public FeedService<toggle::targeting::RuleStore, toggle::targeting::Api> {
 public:
  TargetingService(const TempDir& dir, const std::string& auth_url, Backend backend = Backend::sqlite)
      : FeedService(dir, "targeting", auth_url, backend) {}
  TargetingService(const std::string& database_url, const std::string& auth_url)
      : FeedService(database_url, auth_url) {}
};

class AnalyticsService {
 public:
  AnalyticsService(const TempDir& dir, const std::string& auth_url, Backend backend = Backend::sqlite)
      : database_(backend, dir, "analytics"),
        db_path_(dir.file("analytics.db")),
        db_(database_.open()),
        store_(*db_),
        keys_(auth_url) {
    toggle::analytics::add_routes(router_, store_, keys_, kServiceKey);
    server_ = std::make_unique<LocalServer>(router_);
  }
  ~AnalyticsService() { server_->stop(); }

  std::string url() const { return server_->url(); }
  void stop() { server_->stop(); }
  void start() { server_->start(); }  // on the same port
  toggle::analytics::EventStore& store() { return store_; }
  const std::string& db_path() const { return db_path_; }  // Backend::sqlite
  toggle::sql::Database& database() { return *db_; }

 private:
  TestDatabase database_;
  std::string db_path_;
  std::unique_ptr<toggle::sql::Database> db_;
  toggle::analytics::EventStore store_;
  toggle::KeyValidator keys_;
  toggle::Router router_;
  std::unique_ptr<LocalServer> server_;
};

struct EvaluationOptions {
  bool follow_feeds = false;  // run the two FeedFollowers (else every flag is a miss, fetched)
  bool require_key = false;   // EVALUATE_REQUIRE_KEY=true: a KeyValidator on auth-service
};

// evaluation-service wired as its main() does, against the given services' URLs.
class EvaluationService {
 public:
  EvaluationService(const TempDir& dir, const std::string& auth_url, const std::string& flag_url,
                    const std::string& targeting_url, const std::string& analytics_url, EvaluationOptions options = {})
      : fetcher_(std::make_unique<toggle::evaluation::MissFetcher>(
            toggle::evaluation::FetchOptions{flag_url, targeting_url, kServiceKey, 0ms, 2000ms})),
        events_(sender_options(dir, analytics_url)),
        keys_(options.require_key ? std::make_unique<toggle::KeyValidator>(auth_url) : nullptr),
        api_(std::make_unique<toggle::evaluation::EvaluateApi>(catalog_, *fetcher_, events_, keys_.get())) {
    api_->add_routes(router_);
    events_.start();
    if (options.follow_feeds) {
      flag_feed_ = std::make_unique<toggle::evaluation::FeedFollower>(
          toggle::evaluation::FeedOptions{"flag-service", flag_url, kServiceKey, 5000ms, 300000ms},
          [this](const json& reply) { catalog_.apply_flag_changes(reply); });
      rule_feed_ = std::make_unique<toggle::evaluation::FeedFollower>(
          toggle::evaluation::FeedOptions{"targeting-service", targeting_url, kServiceKey, 5000ms, 300000ms},
          [this](const json& reply) { catalog_.apply_rule_changes(reply); });
      flag_feed_->start();
      rule_feed_->start();
    }
    server_ = std::make_unique<LocalServer>(router_);
  }
  ~EvaluationService() { stop(); }

  // As main() on SIGTERM: the server, then the feeds, then a last flush of the events.
  void stop() {
    server_->stop();
    if (flag_feed_) flag_feed_->stop();
    if (rule_feed_) rule_feed_->stop();
    events_.stop(1000ms);
  }

  std::string url() const { return server_->url(); }
  toggle::evaluation::Catalog& catalog() { return catalog_; }

  toggle::ClientResponse evaluate(const std::string& user_id, const std::string& flag_name,
                                  const std::string& key = "") {
    return call("GET", url() + "/evaluate?user_id=" + user_id + "&flag_name=" + flag_name, key);
  }

 private:
  static toggle::evaluation::SenderOptions sender_options(const TempDir& dir, const std::string& analytics_url) {
    toggle::evaluation::SenderOptions o{analytics_url, kServiceKey, dir.file("evaluation-spool")};
    o.flush_interval = 20ms;
    o.timeout = 2000ms;
    return o;
  }

  toggle::evaluation::Catalog catalog_;
  std::unique_ptr<toggle::evaluation::MissFetcher> fetcher_;
  toggle::evaluation::EventSender events_;
  std::unique_ptr<toggle::KeyValidator> keys_;
  std::unique_ptr<toggle::evaluation::EvaluateApi> api_;
  std::unique_ptr<toggle::evaluation::FeedFollower> flag_feed_, rule_feed_;
  toggle::Router router_;
  std::unique_ptr<LocalServer> server_;
};

// All five services, each on its own port and database, in one temporary directory.
struct Platform {
  explicit Platform(EvaluationOptions options = {})
      : auth(dir),
        flags(dir, auth.url()),
        targeting(dir, auth.url()),
        analytics(dir, auth.url()),
        evaluation(dir, auth.url(), flags.url(), targeting.url(), analytics.url(), options) {}
  ~Platform() {
    // Answer the feed followers' parked polls first so that evaluation-service stops at once.
    flags.close_feed();
    targeting.close_feed();
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
