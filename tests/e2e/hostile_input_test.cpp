// Malformed and hostile input to every endpoint: each gets a 4xx with a JSON {"error": …} that
// names the problem, and every service is still healthy afterwards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform.hpp"
#include "toggle/core/json.hpp"

using toggle::json;

namespace e2e {
namespace {

struct Case {
  std::string service, method, path, body;
  std::string key = kServiceKey;
  int status;  // expected status
};

// A raw TCP exchange: sends `bytes`, returns what the server answered before closing or `wait`.
std::string raw_exchange(int port, const std::string& bytes, int wait_ms = 2000) {
  int fd = connect_loopback(port);
  if (fd < 0) return "connect failed";
  ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, wait_ms) > 0) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

int status_of(const std::string& raw) { return raw.size() > 12 ? std::atoi(raw.substr(9, 3).c_str()) : 0; }

class HostileInputTest : public ::testing::Test {
 protected:
  // A short header timeout so that a slow client is cut off quickly in this test.
  HostileInputTest() : platform(std::map<std::string, std::string>{{"HTTP_HEADER_TIMEOUT_MS", "1500"}}) {}
  void SetUp() override { platform.start_all(); }
  void TearDown() override {
    for (const auto& s : Platform::services()) {
      EXPECT_TRUE(platform.running(s)) << s << " died:\n" << platform.log_tail(s);
      EXPECT_EQ(platform.get(s, "/health", "").status, 200) << s;
    }
  }
  Platform platform;
};

TEST_F(HostileInputTest, EveryEndpointAnswersBadInputWithA4xxJsonError) {
  ASSERT_EQ(platform.send("POST", "flag-service", "/flags", R"({"name":"known","is_enabled":true})").status, 201);
  ASSERT_EQ(platform
                .send("POST", "targeting-service", "/rules",
                      R"({"flag_name":"known","rules":{"type":"PERCENTAGE","value":5}})")
                .status,
            201);
  const std::string long_name(101, 'a');
  const std::string big_body = "{\"name\":\"" + std::string(70 * 1024, 'x') + "\"}";
  std::string many_users = R"({"flag_name":"many","rules":{"type":"USER_LIST","values":[)";
  for (int i = 0; i < 10001; ++i) many_users += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  many_users += "]}}";
  const std::vector<Case> cases = {
      // auth-service
      {"auth-service", "POST", "/admin/keys", "", kMasterKey, 400},
      {"auth-service", "POST", "/admin/keys", "{", kMasterKey, 400},
      {"auth-service", "POST", "/admin/keys", "[]", kMasterKey, 400},
      {"auth-service", "POST", "/admin/keys", R"({"name":null})", kMasterKey, 400},
      {"auth-service", "POST", "/admin/keys", R"({"name":42})", kMasterKey, 400},
      {"auth-service", "POST", "/admin/keys", R"({"name":""})", kMasterKey, 400},
      {"auth-service", "POST", "/keys", "{\"name\":\"" + long_name + "\"}", kMasterKey, 400},
      {"auth-service", "POST", "/admin/keys", big_body, kMasterKey, 413},
      {"auth-service", "POST", "/admin/keys", R"({"name":"x"})", "", 401},
      {"auth-service", "POST", "/admin/keys", R"({"name":"x"})", kServiceKey, 403},
      {"auth-service", "GET", "/admin/keys", "", "", 401},
      {"auth-service", "DELETE", "/admin/keys/abc", "", kMasterKey, 400},
      {"auth-service", "DELETE", "/admin/keys/-1", "", kMasterKey, 400},
      {"auth-service", "DELETE", "/admin/keys/99999999999999999999999", "", kMasterKey, 400},
      {"auth-service", "DELETE", "/admin/keys/424242", "", kMasterKey, 404},
      {"auth-service", "PATCH", "/admin/keys", "{}", kMasterKey, 405},
      {"auth-service", "GET", "/validate", "", "", 401},
      {"auth-service", "GET", "/nope", "", "", 404},
      // flag-service
      {"flag-service", "POST", "/flags", "", kServiceKey, 400},
      {"flag-service", "POST", "/flags", "null", kServiceKey, 400},
      {"flag-service", "POST", "/flags", "not json", kServiceKey, 400},
      {"flag-service", "POST", "/flags", R"({"name":null})", kServiceKey, 400},
      {"flag-service", "POST", "/flags", R"({"name":"a/b"})", kServiceKey, 400},
      {"flag-service", "POST", "/flags", R"({"name":"has space"})", kServiceKey, 400},
      {"flag-service", "POST", "/flags", R"({"name":"ünïcode"})", kServiceKey, 400},
      {"flag-service", "POST", "/flags", "{\"name\":\"" + long_name + "\"}", kServiceKey, 400},
      {"flag-service", "POST", "/flags", R"({"name":"ok","is_enabled":"yes"})", kServiceKey, 400},
      {"flag-service", "POST", "/flags", R"({"name":"ok","description":5})", kServiceKey, 400},
      {"flag-service", "POST", "/flags", "{\"name\":\"ok\",\"description\":\"" + std::string(1001, 'd') + "\"}",
       kServiceKey, 400},
      {"flag-service", "POST", "/flags", R"({"name":"known"})", kServiceKey, 409},
      {"flag-service", "POST", "/flags", R"({"name":"ok"})", "", 401},
      {"flag-service", "POST", "/flags", R"({"name":"ok"})", "Bearer not-a-key", 401},
      {"flag-service", "GET", "/flags/%ZZ", "", kServiceKey, 400},
      {"flag-service", "GET", "/flags/a%2Fb", "", kServiceKey, 400},
      {"flag-service", "GET", "/flags/", "", kServiceKey, 404},
      {"flag-service", "GET", "/flags/missing", "", kServiceKey, 404},
      {"flag-service", "PUT", "/flags/known", "{}", kServiceKey, 400},
      {"flag-service", "PUT", "/flags/known", R"({"is_enabled":null})", kServiceKey, 400},
      {"flag-service", "PUT", "/flags/known", R"({"is_enabled":1})", kServiceKey, 400},
      {"flag-service", "PUT", "/flags/known", R"({"name":"other","is_enabled":true})", kServiceKey, 400},
      {"flag-service", "PATCH", "/flags/missing", R"({"is_enabled":true})", kServiceKey, 404},
      {"flag-service", "DELETE", "/flags/missing", "", kServiceKey, 404},
      {"flag-service", "POST", "/flags/known", "{}", kServiceKey, 405},
      {"flag-service", "GET", "/changes?since=abc", "", kServiceKey, 400},
      {"flag-service", "GET", "/changes?wait_ms=999999", "", kServiceKey, 400},
      // targeting-service
      {"targeting-service", "POST", "/rules", R"({"flag_name":"x"})", kServiceKey, 400},
      {"targeting-service", "POST", "/rules", R"({"rules":{"type":"PERCENTAGE","value":5}})", kServiceKey, 400},
      {"targeting-service", "POST", "/rules", R"({"flag_name":"x","rules":null})", kServiceKey, 400},
      {"targeting-service", "POST", "/rules", R"({"flag_name":"x","rules":[{}]})", kServiceKey, 400},
      {"targeting-service", "POST", "/rules", R"({"flag_name":"x","rules":{"type":"PERCENTAGE","value":"50"}})",
       kServiceKey, 400},
      {"targeting-service", "POST", "/rules", R"({"flag_name":"x","rules":{"type":"PERCENTAGE","value":101}})",
       kServiceKey, 400},
      {"targeting-service", "POST", "/rules", R"({"flag_name":"x","rules":{"type":"PERCENTAGE","value":-1}})",
       kServiceKey, 400},
      {"targeting-service", "POST", "/rules", R"({"flag_name":"x","rules":{"type":"GEO"}})", kServiceKey, 400},
      {"targeting-service", "POST", "/rules", R"({"flag_name":"x","rules":{"type":"USER_LIST","values":[1]}})",
       kServiceKey, 400},
      {"targeting-service", "POST", "/rules", many_users, kServiceKey, 400},
      {"targeting-service", "POST", "/rules",
       R"({"flag_name":"x","rules":{"type":"PERCENTAGE","value":5},"is_enabled":"no"})", kServiceKey, 400},
      {"targeting-service", "POST", "/rules", R"({"flag_name":"known","rules":{"type":"PERCENTAGE","value":5}})",
       kServiceKey, 409},
      {"targeting-service", "PUT", "/rules/known", R"({"rules":{"type":"X"}})", kServiceKey, 400},
      {"targeting-service", "PUT", "/rules/known", "{}", kServiceKey, 400},
      {"targeting-service", "GET", "/rules/missing", "", kServiceKey, 404},
      {"targeting-service", "GET", "/rules", "", "", 401},
      // evaluation-service
      {"evaluation-service", "GET", "/evaluate", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=u1", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?flag_name=known", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=&flag_name=known", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=u1&flag_name=%0A", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=u1&flag_name=%25zz", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=u1&flag_name=%zz", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=u1&flag_name=../../admin/keys", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=u1&flag_name=known%3Fx%3D1", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=%00&flag_name=known", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=%FF%FE&flag_name=known", "", "", 400},
      {"evaluation-service", "GET", "/evaluate?user_id=" + std::string(257, 'u') + "&flag_name=known", "", "", 400},
      {"evaluation-service", "POST", "/evaluate?user_id=u1&flag_name=known", "{}", "", 405},
      // analytics-service
      {"analytics-service", "POST", "/events", "{}", kServiceKey, 400},
      {"analytics-service", "POST", "/events", "[{}]", kServiceKey, 400},
      {"analytics-service", "POST", "/events",
       R"([{"event_id":"e","user_id":"u","flag_name":"f","result":"yes","timestamp":"t"}])", kServiceKey, 400},
      {"analytics-service", "POST", "/events", "[]", "", 401},
      {"analytics-service", "POST", "/events", "[]", "Bearer tm_key_other", 401},  // invalid key: 401, as everywhere
      {"analytics-service", "GET", "/events?limit=0", "", kServiceKey, 400},
      {"analytics-service", "GET", "/events?limit=10001", "", kServiceKey, 400},
      {"analytics-service", "GET", "/events?limit=-1", "", kServiceKey, 400},
      {"analytics-service", "GET", "/events?limit=abc", "", kServiceKey, 400},
      {"analytics-service", "GET", "/events?flag_name=a/b", "", kServiceKey, 400},
      {"analytics-service", "GET", "/summary", "", kServiceKey, 400},
      {"analytics-service", "GET", "/events", "", "", 401},
  };
  for (const auto& c : cases) {
    auto r = platform.send(c.method, c.service, c.path, c.body, c.key);
    std::string what = c.service + " " + c.method + " " + c.path.substr(0, 80) + " " + c.body.substr(0, 80);
    EXPECT_EQ(r.status, c.status) << what << " -> " << r.body;
    EXPECT_EQ(r.content_type, "application/json") << what;
    json body = json::parse(r.body, nullptr, false);
    EXPECT_TRUE(body.is_object() && body.contains("error") && body["error"].is_string() &&
                !body["error"].get<std::string>().empty())
        << what << " -> " << r.body;
  }
}

TEST_F(HostileInputTest, MalformedHttpIsRefusedAndTheServerStaysUp) {
  for (const auto& s : Platform::services()) {
    int port = platform.port(s);
    EXPECT_EQ(status_of(raw_exchange(port, "GARBAGE\r\n\r\n")), 400) << s;
    EXPECT_EQ(status_of(raw_exchange(port, "GET /health HTTP/1.1\r\nContent-Length: abc\r\n\r\n")), 400) << s;
    EXPECT_EQ(status_of(raw_exchange(port, "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n")), 414) << s;
    std::string headers = "GET /health HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 400; ++i) headers += "X-Filler-" + std::to_string(i) + ": " + std::string(50, 'f') + "\r\n";
    EXPECT_EQ(status_of(raw_exchange(port, headers + "\r\n")), 431) << s;
    auto big = raw_exchange(port, "POST /flags HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n");
    EXPECT_EQ(status_of(big), 413) << s;
    EXPECT_NE(big.find("{\"error\":"), std::string::npos) << s;
    // HTTP/1.0 without a Host header still works.
    EXPECT_EQ(status_of(raw_exchange(port, "GET /health HTTP/1.0\r\n\r\n")), 200) << s;
  }
}

TEST_F(HostileInputTest, ASlowClientIsCutOffAndDoesNotBlockOthers) {
  int port = platform.port("evaluation-service");
  int fd = connect_loopback(port);
  ASSERT_GE(fd, 0);
  std::string partial = "GET /health HTTP/1.1\r\nHost: x\r\n";  // never finished
  ::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
  EXPECT_EQ(platform.get("evaluation-service", "/health", "").status, 200);  // others are served meanwhile
  // The server closes the connection once the header timeout (1.5 s here) passes.
  pollfd p{fd, POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 10000), 0);
  char buf[256];
  EXPECT_LE(::recv(fd, buf, sizeof buf, 0), 0);
  ::close(fd);
}

}  // namespace
}  // namespace e2e
