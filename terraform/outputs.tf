# What the platform needs from this infrastructure. The connection strings are what the services
# read (README "Configuration"), in the format they parse; scripts/k8s-secrets.sh --from-terraform
# puts each into its namespace's Secret (an output's name is the template variable in lower case:
# AUTH_DATABASE_URL <- auth_database_url). Sensitive: `terraform output -raw NAME` shows one.

output "resource_group_name" {
  description = "The resource group holding everything."
  value       = azurerm_resource_group.main.name
}

output "aks_name" {
  description = "The AKS cluster's name."
  value       = azurerm_kubernetes_cluster.main.name
}

output "aks_kube_config_command" {
  description = "Configures kubectl for the cluster."
  value       = "az aks get-credentials --resource-group ${azurerm_resource_group.main.name} --name ${azurerm_kubernetes_cluster.main.name}"
}

output "acr_name" {
  description = "The container registry's name (az acr login --name ...)."
  value       = azurerm_container_registry.main.name
}

output "acr_login_server" {
  description = "Where images are pushed: <acr_login_server>/togglemaster/<service>:<tag>."
  value       = azurerm_container_registry.main.login_server
}

output "postgres_subnet_cidr" {
  description = "The PostgreSQL subnet; k8s/*/networkpolicy.yaml allow port 5432 to it."
  value       = azurerm_subnet.postgres.address_prefixes[0]
}

output "auth_database_url" {
  description = "DATABASE_URL of auth-service (auth_db)."
  value       = "postgres://${var.postgres_admin_login}:${random_password.postgres["auth"].result}@${azurerm_postgresql_flexible_server.main["auth"].fqdn}:5432/${azurerm_postgresql_flexible_server_database.main["auth"].name}?sslmode=require"
  sensitive   = true
}

output "flags_database_url" {
  description = "DATABASE_URL of flag-service (flags_db)."
  value       = "postgres://${var.postgres_admin_login}:${random_password.postgres["flags"].result}@${azurerm_postgresql_flexible_server.main["flags"].fqdn}:5432/${azurerm_postgresql_flexible_server_database.main["flags"].name}?sslmode=require"
  sensitive   = true
}

output "targeting_database_url" {
  description = "DATABASE_URL of targeting-service (targeting_db)."
  value       = "postgres://${var.postgres_admin_login}:${random_password.postgres["targeting"].result}@${azurerm_postgresql_flexible_server.main["targeting"].fqdn}:5432/${azurerm_postgresql_flexible_server_database.main["targeting"].name}?sslmode=require"
  sensitive   = true
}

output "redis_hostname" {
  description = "Azure Cache for Redis host."
  value       = azurerm_redis_cache.main.hostname
}

output "redis_url" {
  description = "REDIS_URL of evaluation-service: TLS (rediss://) on port 6380, the access key percent-encoded (it is base64: + / =)."
  value       = "rediss://:${urlencode(azurerm_redis_cache.main.primary_access_key)}@${azurerm_redis_cache.main.hostname}:${azurerm_redis_cache.main.ssl_port}/0"
  sensitive   = true
}

output "servicebus_queue_name" {
  description = "AZURE_SERVICEBUS_QUEUE of evaluation- and analytics-service."
  value       = azurerm_servicebus_queue.events.name
}

output "servicebus_send_connection_string" {
  description = "AZURE_SERVICEBUS_CONNECTION_STRING of evaluation-service: send only, this queue only (it carries EntityPath=evaluation-events)."
  value       = azurerm_servicebus_queue_authorization_rule.send.primary_connection_string
  sensitive   = true
}

output "servicebus_listen_connection_string" {
  description = "AZURE_SERVICEBUS_CONNECTION_STRING of analytics-service: listen only, this queue only (it carries EntityPath=evaluation-events)."
  value       = azurerm_servicebus_queue_authorization_rule.listen.primary_connection_string
  sensitive   = true
}

output "servicebus_keda_connection_string" {
  description = "For KEDA only (k8s/components/keda-analytics): Manage on this queue, to read its depth."
  value       = azurerm_servicebus_queue_authorization_rule.keda.primary_connection_string
  sensitive   = true
}

output "cosmos_table_names" {
  description = "The Table API tables (AZURE_COSMOS_TABLE of analytics-service is EvaluationEvents)."
  value       = sort(keys(azurerm_cosmosdb_table.main))
}

output "cosmos_connection_string" {
  description = "AZURE_COSMOS_CONNECTION_STRING of analytics-service: the Table endpoint and the account key, in the storage connection-string format Table clients read."
  value       = "DefaultEndpointsProtocol=https;AccountName=${azurerm_cosmosdb_account.main.name};AccountKey=${azurerm_cosmosdb_account.main.primary_key};TableEndpoint=https://${azurerm_cosmosdb_account.main.name}.table.cosmos.azure.com:443/;"
  sensitive   = true
}
