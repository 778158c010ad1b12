#include "toggle/cloud/azure_settings.hpp"

#include "cosmos_table_internal.hpp"
#include "toggle/cloud/cosmos_event_store.hpp"
#include "toggle/core/config.hpp"

namespace toggle::cloud {

ServiceBusSettings servicebus_settings_from_env(Env& env) {
  ServiceBusSettings s;
  std::string text = env.required("AZURE_SERVICEBUS_CONNECTION_STRING", "");
  if (!text.empty()) {
    try {
      s.connection = parse_servicebus_connection_string(text);
    } catch (const ConnectionStringError& e) {
      env.fail(std::string("AZURE_SERVICEBUS_CONNECTION_STRING: ") + e.what());
    }
  }
  std::string queue = env.str("AZURE_SERVICEBUS_QUEUE", "");
  if (!queue.empty() && !s.connection.entity_path.empty() && queue != s.connection.entity_path) {
    env.fail("AZURE_SERVICEBUS_QUEUE=" + queue + " differs from the connection string's EntityPath " +
             s.connection.entity_path + ": give one, or the same in both");
  }
  s.queue = !queue.empty() ? queue : !s.connection.entity_path.empty() ? s.connection.entity_path : "evaluation-events";
  return s;
}

CosmosSettings cosmos_settings_from_env(Env& env) {
  CosmosSettings s;
  std::string text = env.required("AZURE_COSMOS_CONNECTION_STRING", "");
  if (!text.empty()) {
    try {
      s.connection = parse_table_connection_string(text);
    } catch (const ConnectionStringError& e) {
      env.fail(std::string("AZURE_COSMOS_CONNECTION_STRING: ") + e.what());
    }
  }
  s.table = env.str("AZURE_COSMOS_TABLE", "EvaluationEvents");
  try {
    table_detail::check_table_name(s.table);
    table_detail::check_table_name(cosmos_time_table(s.table));
  } catch (const std::invalid_argument&) {
    env.fail("AZURE_COSMOS_TABLE=" + s.table + " is not a table name: 3 to 57 letters and digits, starting with a " +
             "letter (the store adds a table named " + cosmos_time_table(s.table) + ")");
  }
  return s;
}

std::string ServiceBusSettings::describe() const {
  return "servicebus " + connection.host + ":" + std::to_string(connection.port) + " queue " + queue + " key " +
         (connection.key_name.empty() ? "(none)" : connection.key_name) +
         (connection.development_emulator ? " (development emulator: plain AMQP, no TLS, no CBS)" : " (TLS, CBS)");
}

std::string CosmosSettings::describe() const {
  return "cosmos table " + table + " (and " + cosmos_time_table(table) + ") at " + connection.endpoint + " account " +
         connection.account;
}

}  // namespace toggle::cloud
