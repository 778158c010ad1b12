// Azure connection strings in their standard formats, so that the strings the Azure portal and
// Terraform print paste in unchanged:
//
//   Service Bus   Endpoint=sb://<ns>.servicebus.windows.net/;SharedAccessKeyName=<name>;SharedAccessKey=<key>
//                 [;EntityPath=<queue>][;UseDevelopmentEmulator=true]
//   Table API     DefaultEndpointsProtocol=https;AccountName=<acct>;AccountKey=<base64>;
//                 TableEndpoint=https://<acct>.table.cosmos.azure.com:443/;
//                 (or EndpointSuffix=core.windows.net instead of TableEndpoint, as Storage accounts
//                 print it; or UseDevelopmentStorage=true for azurite on its default port)
//
// Keys are case-insensitive, `;` separates pairs, a value may contain `=`. A bad string throws
// ConnectionStringError naming what is wrong; the message never contains a key.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace toggle::cloud {

class ConnectionStringError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct ServiceBusConnectionString {
  std::string host;         // the namespace's host name, e.g. ns.servicebus.windows.net
  int port = 0;             // from Endpoint, else 5671 (AMQPS), or 5672 for the development emulator
  std::string key_name;     // SharedAccessKeyName
  std::string key;          // SharedAccessKey: a secret, never logged
  std::string entity_path;  // EntityPath: set when the string is scoped to one queue
  // UseDevelopmentEmulator=true: a local broker (plain AMQP, no TLS, no CBS token handshake).
  bool development_emulator = false;
};

// Throws ConnectionStringError.
ServiceBusConnectionString parse_servicebus_connection_string(std::string_view text);

struct TableConnectionString {
  std::string account;   // AccountName: signs requests and names the canonicalized resource
  std::string key;       // AccountKey, base64 (checked): a secret, never logged
  std::string endpoint;  // the Table endpoint without a trailing slash, e.g.
                         // https://acct.table.cosmos.azure.com:443 or, path-style (azurite),
                         // http://127.0.0.1:10002/devstoreaccount1
};

// Throws ConnectionStringError.
TableConnectionString parse_table_connection_string(std::string_view text);

}  // namespace toggle::cloud
