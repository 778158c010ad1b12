# Azure Service Bus (the seed's Basic namespace) and the evaluation-events queue: evaluation-service
# sends, analytics-service receives. A message that analytics cannot store after
# max_delivery_count tries, or that expires, goes to the queue's dead-letter sub-queue
# (evaluation-events/$DeadLetterQueue) instead of blocking the rest.
resource "azurerm_servicebus_namespace" "main" {
  name                = "sb-${local.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = var.servicebus_sku
  minimum_tls_version = "1.2"
  tags                = local.tags
}

resource "azurerm_servicebus_queue" "events" {
  name                                 = "evaluation-events"
  namespace_id                         = azurerm_servicebus_namespace.main.id
  max_delivery_count                   = var.servicebus_max_delivery_count
  dead_lettering_on_message_expiration = true
  default_message_ttl                  = var.servicebus_message_ttl
  lock_duration                        = "PT1M"
  max_size_in_megabytes                = var.servicebus_queue_size_mb
}

# One key per use, each with only the right it needs (the seed's least privilege, per namespace):
resource "azurerm_servicebus_queue_authorization_rule" "send" {
  name     = "evaluation-service-send" # evaluation-service: send only
  queue_id = azurerm_servicebus_queue.events.id
  listen   = false
  send     = true
  manage   = false
}

resource "azurerm_servicebus_queue_authorization_rule" "listen" {
  name     = "analytics-service-listen" # analytics-service: receive, complete, dead-letter
  queue_id = azurerm_servicebus_queue.events.id
  listen   = true
  send     = false
  manage   = false
}

# KEDA reads the queue's depth, which Service Bus only shows to a Manage key (Manage implies
# Listen and Send). It stays with the KEDA operator (k8s/components/keda-analytics), never in a pod.
resource "azurerm_servicebus_queue_authorization_rule" "keda" {
  name     = "keda-queue-depth"
  queue_id = azurerm_servicebus_queue.events.id
  listen   = true
  send     = true
  manage   = true
}
