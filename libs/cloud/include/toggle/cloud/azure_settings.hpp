// The Azure pipeline's settings from the environment (CLOUD_PROVIDER=azure):
//
//   AZURE_SERVICEBUS_CONNECTION_STRING  required by both services: Endpoint=sb://...;SharedAccessKeyName=..;
//                                       SharedAccessKey=..[;EntityPath=<queue>][;UseDevelopmentEmulator=true]
//   AZURE_SERVICEBUS_QUEUE              the queue; default: the string's EntityPath, else
//                                       evaluation-events (a local AMQP broker: its address, /queue/NAME)
//   AZURE_COSMOS_CONNECTION_STRING      required by analytics-service: the Table endpoint and account key
//   AZURE_COSMOS_TABLE                  default EvaluationEvents (the store adds <table>ByTime)
//
//   toggle::Env env;
//   auto bus = toggle::cloud::servicebus_settings_from_env(env);   // evaluation and analytics
//   auto cosmos = toggle::cloud::cosmos_settings_from_env(env);    // analytics only
//   env.exit_if_invalid("analytics-service");                      // exit 2 naming each variable
//   toggle::cloud::ServiceBusEventQueue queue(bus.connection, bus.queue);
//   toggle::cloud::CosmosEventStore store(cosmos.connection, cosmos.table);
#pragma once

#include <string>

#include "toggle/cloud/azure_connection_string.hpp"

namespace toggle {
class Env;
}

namespace toggle::cloud {

struct ServiceBusSettings {
  ServiceBusConnectionString connection;
  std::string queue;
  // For a start-up log line: host, port, key name, queue, mode. No secret.
  std::string describe() const;
};

struct CosmosSettings {
  TableConnectionString connection;
  std::string table;
  std::string describe() const;  // endpoint, account, table. No secret.
};

// Each problem goes to env.fail(), naming its variable and never a key.
ServiceBusSettings servicebus_settings_from_env(Env& env);
CosmosSettings cosmos_settings_from_env(Env& env);

}  // namespace toggle::cloud
