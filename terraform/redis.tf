# Azure Cache for Redis (the seed's Basic C0): evaluation-service's shared cache across replicas.
# TLS only (port 6380, rediss://). Basic has no replica and no SLA: Redis down never touches an
# evaluation (README, "Several replicas and Redis"), so the cheapest tier is enough.
# Microsoft retires Azure Cache for Redis on 2028-09-30 (Azure Managed Redis replaces it): see
# docs/cost.md.
resource "azurerm_redis_cache" "main" {
  name                 = "redis-${local.name}"
  location             = azurerm_resource_group.main.location
  resource_group_name  = azurerm_resource_group.main.name
  sku_name             = var.redis_sku_name
  family               = var.redis_family
  capacity             = var.redis_capacity
  non_ssl_port_enabled = false
  minimum_tls_version  = "1.2"
  redis_version        = "6"
  tags                 = local.tags
}
