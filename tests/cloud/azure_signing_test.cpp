// The signatures against values computed independently with openssl (the commands are given) and
// the encodings against their definitions.
#include "toggle/cloud/azure_signing.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace azure = toggle::cloud::azure;

TEST(AzureSigning, UrlEncodeKeepsOnlyUnreservedCharacters) {
  EXPECT_EQ(azure::url_encode("sb://ns.servicebus.windows.net/q_1-a~"),
            "sb%3A%2F%2Fns.servicebus.windows.net%2Fq_1-a~");
  EXPECT_EQ(azure::url_encode("a+b/c=d e"), "a%2Bb%2Fc%3Dd%20e");
  EXPECT_EQ(azure::url_encode("\xc3\xa9"), "%C3%A9");
}

TEST(AzureSigning, Base64RoundTripAndRejectsBadText) {
  EXPECT_EQ(azure::base64_encode("secret-key"), "c2VjcmV0LWtleQ==");
  EXPECT_EQ(azure::base64_decode("c2VjcmV0LWtleQ==").value(), "secret-key");
  EXPECT_EQ(azure::base64_decode("c2VjcmV0LWtleTE=").value(), "secret-key1");
  EXPECT_EQ(azure::base64_decode("c2VjcmV0LWtleTEy").value(), "secret-key12");
  EXPECT_FALSE(azure::base64_decode(""));
  EXPECT_FALSE(azure::base64_decode("c2VjcmV0LWtleQ="));   // not a multiple of 4
  EXPECT_FALSE(azure::base64_decode("c2Vj!mV0LWtleQ=="));  // not base64
  EXPECT_FALSE(azure::base64_decode("c2=jcmV0LWtleQ=="));  // padding inside
}

// sr='sb%3A%2F%2Fmynamespace.servicebus.windows.net%2Fevaluation-events'; se=1767225600
// printf '%s\n%s' "$sr" "$se" | openssl dgst -sha256 -hmac 'Pa55+word/With=Base64Chars' -binary | base64
//   -> VmTUfaujQx93C5AOHURRVkLfZaV3vgm14m4cKrqRqo0=
TEST(AzureSigning, ServiceBusSasTokenMatchesOpenssl) {
  std::string token =
      azure::servicebus_sas_token("sb://mynamespace.servicebus.windows.net/evaluation-events",
                                  "RootManageSharedAccessKey", "Pa55+word/With=Base64Chars", 1767225600);
  EXPECT_EQ(token,
            "SharedAccessSignature sr=sb%3A%2F%2Fmynamespace.servicebus.windows.net%2Fevaluation-events"
            "&sig=VmTUfaujQx93C5AOHURRVkLfZaV3vgm14m4cKrqRqo0%3D&se=1767225600&skn=RootManageSharedAccessKey");
}

TEST(AzureSigning, HttpDateIsRfc1123InEnglish) {
  using namespace std::chrono;
  auto t = sys_days(year(2025) / June / 11) + hours(17) + minutes(3) + seconds(7) + milliseconds(999);
  EXPECT_EQ(azure::http_date(t), "Wed, 11 Jun 2025 17:03:07 GMT");
  EXPECT_EQ(azure::http_date(sys_days(year(2024) / February / 29)), "Thu, 29 Feb 2024 00:00:00 GMT");
}

// The documented strings to sign for the Table service
// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key), signed with
// the storage emulator's published key:
//   hex=$(echo -n "$KEY" | base64 -d | xxd -p | tr -d '\n')
//   printf 'POST\n\napplication/json\nWed, 11 Jun 2025 17:03:07 GMT\n/devstoreaccount1/devstoreaccount1/Tables' |
//     openssl dgst -sha256 -mac HMAC -macopt hexkey:$hex -binary | base64
TEST(AzureSigning, TableSharedKeyMatchesOpenssl) {
  const std::string key =
      azure::base64_decode("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==")
          .value();
  std::string sts = azure::table_shared_key_string_to_sign(
      "POST", "", "application/json", "Wed, 11 Jun 2025 17:03:07 GMT", "/devstoreaccount1/devstoreaccount1/Tables");
  EXPECT_EQ(sts, "POST\n\napplication/json\nWed, 11 Jun 2025 17:03:07 GMT\n/devstoreaccount1/devstoreaccount1/Tables");
  EXPECT_EQ(azure::table_authorization("SharedKey", "devstoreaccount1", key, sts),
            "SharedKey devstoreaccount1:L7UScvhEHsAgo3QSUU4aWj/nP1UiPngoqJ84bGUpv5I=");

  // printf 'Wed, 11 Jun 2025 17:03:07 GMT\n/myaccount/mytable()' | openssl dgst ... (same key)
  std::string lite =
      azure::table_shared_key_lite_string_to_sign("Wed, 11 Jun 2025 17:03:07 GMT", "/myaccount/mytable()");
  EXPECT_EQ(lite, "Wed, 11 Jun 2025 17:03:07 GMT\n/myaccount/mytable()");
  EXPECT_EQ(azure::table_authorization("SharedKeyLite", "myaccount", key, lite),
            "SharedKeyLite myaccount:+Yt2EE2Wj7QV7wfmNUJtI+J6UnNFCkv6v4RU9RnQ2MM=");
}
