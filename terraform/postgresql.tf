# The seed's three PostgreSQL Flexible Servers (B1ms, 32 GB), one per service, each with its
# database (auth_db, flags_db, targeting_db). They are reachable only inside the VNet. The services
# create their own tables at start (migrations under an advisory lock), so no init job is needed;
# they connect as the server's administrator, who owns nothing but that one service's database.
resource "random_password" "postgres" {
  for_each = local.databases

  length = 32
  # URL-safe, so the password goes into DATABASE_URL as it is.
  special          = true
  override_special = "-_"
  min_lower        = 2
  min_upper        = 2
  min_numeric      = 2
  min_special      = 2
}

resource "azurerm_postgresql_flexible_server" "main" {
  for_each = local.databases

  name                          = "pg-${each.key}-${local.name}"
  location                      = azurerm_resource_group.main.location
  resource_group_name           = azurerm_resource_group.main.name
  version                       = var.postgres_version
  sku_name                      = var.postgres_sku_name
  storage_mb                    = var.postgres_storage_mb
  backup_retention_days         = 7
  zone                          = var.postgres_zone
  administrator_login           = var.postgres_admin_login
  administrator_password        = random_password.postgres[each.key].result
  delegated_subnet_id           = azurerm_subnet.postgres.id
  private_dns_zone_id           = azurerm_private_dns_zone.postgres.id
  public_network_access_enabled = false
  tags                          = local.tags

  depends_on = [azurerm_private_dns_zone_virtual_network_link.postgres]

  lifecycle {
    # The seed's lesson: Azure may move a server to another zone (fail-over, maintenance);
    # applying again must not try to move it back.
    ignore_changes = [zone]
  }
}

resource "azurerm_postgresql_flexible_server_database" "main" {
  for_each = local.databases

  name      = each.value
  server_id = azurerm_postgresql_flexible_server.main[each.key].id
  charset   = "UTF8"
  collation = "en_US.utf8"
}
