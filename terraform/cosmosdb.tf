# Azure Cosmos DB with the Table API (the seed's DynamoDB replacement): analytics-service stores
# every evaluation event in EvaluationEvents. Provisioned throughput per table (the seed's 400 RU/s),
# or serverless (pay per request unit) with cosmos_capacity_mode = "serverless": docs/cost.md says
# which suits which load.
resource "azurerm_cosmosdb_account" "main" {
  name                = "cosmos-${local.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  offer_type          = "Standard"
  kind                = "GlobalDocumentDB"
  free_tier_enabled   = var.cosmos_free_tier
  minimal_tls_version = "Tls12"
  tags                = local.tags

  capabilities {
    name = "EnableTable"
  }

  dynamic "capabilities" {
    for_each = var.cosmos_capacity_mode == "serverless" ? ["EnableServerless"] : []
    content {
      name = capabilities.value
    }
  }

  consistency_policy {
    consistency_level = "Session"
  }

  geo_location {
    location          = azurerm_resource_group.main.location
    failover_priority = 0
  }

  lifecycle {
    precondition {
      condition     = !(var.cosmos_free_tier && var.cosmos_capacity_mode == "serverless")
      error_message = "Cosmos DB's free tier applies to provisioned throughput only: set cosmos_free_tier = false with serverless."
    }
  }
}

resource "azurerm_cosmosdb_table" "main" {
  for_each = var.cosmos_tables

  name                = each.key
  resource_group_name = azurerm_resource_group.main.name
  account_name        = azurerm_cosmosdb_account.main.name
  throughput          = var.cosmos_capacity_mode == "serverless" ? null : each.value
}
