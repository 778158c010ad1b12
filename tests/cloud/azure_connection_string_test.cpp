// Connection strings as the Azure portal, Terraform and the emulators print them.
#include "toggle/cloud/azure_connection_string.hpp"

#include <gtest/gtest.h>

using toggle::cloud::ConnectionStringError;
using toggle::cloud::parse_servicebus_connection_string;
using toggle::cloud::parse_table_connection_string;

namespace {

// The error message for `text`, checked never to contain the key.
template <class Parse>
std::string error_of(Parse parse, const std::string& text, const std::string& secret = "S3cretKey") {
  try {
    parse(text);
  } catch (const ConnectionStringError& e) {
    std::string message = e.what();
    EXPECT_EQ(message.find(secret), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "no error for " << text;
  return "";
}

const auto servicebus = [](const std::string& s) { return parse_servicebus_connection_string(s); };
const auto table = [](const std::string& s) { return parse_table_connection_string(s); };

}  // namespace

TEST(ServiceBusConnectionString, PortalFormat) {
  auto c = parse_servicebus_connection_string(
      "Endpoint=sb://togglemaster.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
      "SharedAccessKey=abc+/def=");
  EXPECT_EQ(c.host, "togglemaster.servicebus.windows.net");
  EXPECT_EQ(c.port, 5671);
  EXPECT_EQ(c.key_name, "RootManageSharedAccessKey");
  EXPECT_EQ(c.key, "abc+/def=");  // a value may contain '='
  EXPECT_EQ(c.entity_path, "");
  EXPECT_FALSE(c.development_emulator);
}

TEST(ServiceBusConnectionString, EntityPathPortAndCaseInsensitiveKeys) {
  auto c = parse_servicebus_connection_string(
      " endpoint=SB://localhost:45671 ; sharedaccesskeyname=send;SHAREDACCESSKEY=k;EntityPath=evaluation-events;");
  EXPECT_EQ(c.host, "localhost");
  EXPECT_EQ(c.port, 45671);
  EXPECT_EQ(c.key_name, "send");
  EXPECT_EQ(c.entity_path, "evaluation-events");
}

TEST(ServiceBusConnectionString, DevelopmentEmulator) {
  auto c = parse_servicebus_connection_string(
      "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;"
      "UseDevelopmentEmulator=true;");
  EXPECT_TRUE(c.development_emulator);
  EXPECT_EQ(c.host, "localhost");
  EXPECT_EQ(c.port, 5672);  // plain AMQP
  // The emulator needs no key.
  auto bare = parse_servicebus_connection_string("Endpoint=sb://127.0.0.1:5673/;UseDevelopmentEmulator=TRUE");
  EXPECT_EQ(bare.port, 5673);
  EXPECT_TRUE(bare.key.empty());
  EXPECT_FALSE(parse_servicebus_connection_string(
                   "Endpoint=sb://h/;SharedAccessKeyName=n;SharedAccessKey=k;UseDevelopmentEmulator=false")
                   .development_emulator);
}

TEST(ServiceBusConnectionString, ErrorsNameWhatIsWrong) {
  EXPECT_NE(error_of(servicebus, "").find("is empty"), std::string::npos);
  EXPECT_NE(error_of(servicebus, "SharedAccessKeyName=n;SharedAccessKey=S3cretKey").find("lacks Endpoint"),
            std::string::npos);
  EXPECT_NE(error_of(servicebus, "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKey=S3cretKey")
                .find("lacks SharedAccessKeyName"),
            std::string::npos);
  EXPECT_NE(error_of(servicebus, "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=n")
                .find("lacks SharedAccessKey"),
            std::string::npos);
  EXPECT_NE(error_of(servicebus,
                     "Endpoint=https://ns.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=S3cretKey")
                .find("does not start with sb://"),
            std::string::npos);
  EXPECT_NE(
      error_of(servicebus, "Endpoint=sb://ns:99999/;SharedAccessKeyName=n;SharedAccessKey=S3cretKey").find("port"),
      std::string::npos);
  EXPECT_NE(error_of(servicebus, "Endpoint=sb:///;SharedAccessKeyName=n;SharedAccessKey=S3cretKey").find("host name"),
            std::string::npos);
  EXPECT_NE(error_of(servicebus, "Endpoint=sb://ns/queue;SharedAccessKeyName=n;SharedAccessKey=S3cretKey").find("path"),
            std::string::npos);
  EXPECT_NE(
      error_of(servicebus, "Endpoint=sb://ns/;Endpoint=sb://other/;SharedAccessKeyName=n;SharedAccessKey=S3cretKey")
          .find("Endpoint twice"),
      std::string::npos);
  EXPECT_NE(error_of(servicebus, "Endpoint=sb://ns/;UseDevelopmentEmulator=yes").find("UseDevelopmentEmulator"),
            std::string::npos);
  // A key pasted on its own, without "SharedAccessKey=": the message must not repeat it.
  EXPECT_NE(error_of(servicebus, "Endpoint=sb://ns/;SharedAccessKeyName=n;S3cretKey").find("not Key=Value"),
            std::string::npos);
  EXPECT_NE(error_of(servicebus, "Endpoint=sb://ns/;SharedAccessSignature=SharedAccessSignature sr=S3cretKey")
                .find("SharedAccessSignature"),
            std::string::npos);
}

TEST(TableConnectionString, CosmosTableApiFormat) {
  auto c = parse_table_connection_string(
      "DefaultEndpointsProtocol=https;AccountName=togglemaster;AccountKey=c2VjcmV0LWtleQ==;"
      "TableEndpoint=https://togglemaster.table.cosmos.azure.com:443/;");
  EXPECT_EQ(c.account, "togglemaster");
  EXPECT_EQ(c.key, "c2VjcmV0LWtleQ==");
  EXPECT_EQ(c.endpoint, "https://togglemaster.table.cosmos.azure.com:443");
}

TEST(TableConnectionString, AzuritePathStyle) {
  auto c = parse_table_connection_string(
      "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
      "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
      "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;");
  EXPECT_EQ(c.account, "devstoreaccount1");
  EXPECT_EQ(c.endpoint, "http://127.0.0.1:10002/devstoreaccount1");
  auto shorthand = parse_table_connection_string("UseDevelopmentStorage=true");
  EXPECT_EQ(shorthand.account, "devstoreaccount1");
  EXPECT_EQ(shorthand.endpoint, "http://127.0.0.1:10002/devstoreaccount1");
}

TEST(TableConnectionString, StorageAccountFormatDerivesTheEndpoint) {
  auto c = parse_table_connection_string(
      "DefaultEndpointsProtocol=https;AccountName=tmstore;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net");
  EXPECT_EQ(c.endpoint, "https://tmstore.table.core.windows.net");
}

TEST(TableConnectionString, ErrorsNameWhatIsWrong) {
  const std::string key = "AccountKey=S3cretKey000000000000000";  // valid base64
  EXPECT_NE(error_of(table, "DefaultEndpointsProtocol=https;" + key).find("lacks AccountName"), std::string::npos);
  EXPECT_NE(
      error_of(table, "AccountName=a;TableEndpoint=https://a.table.cosmos.azure.com:443/").find("lacks AccountKey"),
      std::string::npos);
  EXPECT_NE(error_of(table, "AccountName=a;AccountKey=S3cretKey!;TableEndpoint=https://x/").find("not valid base64"),
            std::string::npos);
  EXPECT_NE(error_of(table, "AccountName=a;" + key + ";TableEndpoint=ftp://x/").find("https://"), std::string::npos);
  EXPECT_NE(
      error_of(table, "AccountName=a;" + key + ";DefaultEndpointsProtocol=gopher").find("DefaultEndpointsProtocol"),
      std::string::npos);
  EXPECT_NE(error_of(table, "AccountEndpoint=https://a.documents.azure.com:443/;" + key).find("SQL API"),
            std::string::npos);
}
