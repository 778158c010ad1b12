// libs/core's RedisClient against a real redis-server: TLS (rediss://) with the server's
// certificate checked, a Redis ACL user, replies bounded in size, and a refused password that is
// never shown in the error.
#include <gtest/gtest.h>

#include <filesystem>

#include "platform.hpp"
#include "toggle/core/redis.hpp"

namespace e2e {
namespace {

// A CA and a certificate for "localhost" signed by it (openssl CLI), in a temporary folder.
struct TestCertificates {
  std::string dir, ca, cert, key;
  TestCertificates() {
    char tmpl[] = "/tmp/toggle-tls-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ca = dir + "/ca.crt", cert = dir + "/redis.crt", key = dir + "/redis.key";
    std::string out;
    std::string script =
        "set -e; cd '" + dir + "'; "
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.crt; "
        "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout redis.key -out redis.csr; "
        "printf 'subjectAltName=DNS:localhost\\n' > san.ext; "
        "openssl x509 -req -in redis.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out redis.crt";
    if (run_command({}, {"bash", "-c", script}, &out) != 0) throw std::runtime_error("openssl failed: " + out);
  }
  ~TestCertificates() { std::filesystem::remove_all(dir); }
};

toggle::RedisAddress address_of(const std::string& url, const std::string& ca_file = "") {
  auto address = toggle::parse_redis_url(url);
  if (!address) throw std::runtime_error("bad url " + url);
  address->ca_file = ca_file;
  return *address;
}

std::string failure_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(RedisClientTest, UrlsWithTlsAclUsersAndDatabases) {
  auto a = toggle::parse_redis_url("rediss://app:s3cret@cache.internal:6380/2");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->tls);
  EXPECT_EQ(a->username, "app");
  EXPECT_EQ(a->password, "s3cret");
  EXPECT_EQ(a->host, "cache.internal");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  EXPECT_EQ(a->describe(), "rediss://cache.internal:6380/2") << "no credentials in what is logged";
  auto b = toggle::parse_redis_url("redis://:only-password@host");
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->tls);
  EXPECT_EQ(b->username, "");
  EXPECT_EQ(b->password, "only-password");
  EXPECT_FALSE(toggle::parse_redis_url("http://host"));
  EXPECT_FALSE(toggle::parse_redis_url("redis://host:99999"));
  EXPECT_FALSE(toggle::parse_redis_url("redis://host/db"));
}

TEST(RedisClientTest, TlsWithAnAclUserAndTheServersCertificateChecked) {
  TestCertificates certs;
  RedisServer redis({"--tls-cert-file", certs.cert, "--tls-key-file", certs.key, "--tls-ca-cert-file", certs.ca,
                     "--tls-auth-clients", "no", "--user", "default", "off", "--user", "app", "on", ">s3cret", "~*",
                     "&*", "+@all"},
                    /*tls=*/true);
  std::string url = "rediss://app:s3cret@localhost:" + std::to_string(redis.port());
  toggle::RedisClient client(address_of(url, certs.ca), std::chrono::milliseconds(2000));
  client.set("k", "v");
  EXPECT_EQ(client.get("k"), "v");
  EXPECT_TRUE(client.ping());

  // A wrong password: refused, and the error does not show it.
  toggle::RedisClient wrong(address_of("rediss://app:not-it@localhost:" + std::to_string(redis.port()), certs.ca));
  std::string error = failure_of([&] { wrong.get("k"); });
  EXPECT_NE(error.find("authentication refused"), std::string::npos) << error;
  EXPECT_EQ(error.find("not-it"), std::string::npos) << error;

  // A server whose certificate is not signed by a CA we trust: no connection.
  toggle::RedisClient untrusting(address_of(url, "/etc/ssl/certs/ca-certificates.crt"));
  EXPECT_NE(failure_of([&] { untrusting.get("k"); }).find("TLS handshake failed"), std::string::npos);

  // Plain text to a TLS port gets nowhere.
  toggle::RedisClient plain(address_of("redis://app:s3cret@localhost:" + std::to_string(redis.port())),
                            std::chrono::milliseconds(500));
  EXPECT_FALSE(plain.ping());
}

// A value larger than kMaxRedisReplyBytes, written to Redis by anyone, is refused on reading:
// it cannot exhaust a replica's memory. The client then works again.
TEST(RedisClientTest, AReplyLargerThanTheLimitIsRefused) {
  RedisServer redis({"--proto-max-bulk-len", "1gb"});
  toggle::RedisClient client(address_of(redis.url()), std::chrono::milliseconds(5000));
  client.set("huge", std::string(toggle::kMaxRedisReplyBytes + 1024, 'x'));
  std::string error = failure_of([&] { client.get("huge"); });
  EXPECT_NE(error.find("larger than the limit"), std::string::npos) << error;
  client.set("small", "ok");
  EXPECT_EQ(client.get("small"), "ok");
}

}  // namespace
}  // namespace e2e
