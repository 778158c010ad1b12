# The container registry and the Kubernetes cluster (the seed's aks.tf): ACR Basic, AKS with one
# autoscaling node pool (1-4 nodes), Azure CNI overlay with Cilium (which enforces the
# NetworkPolicies of k8s/), and the kubelet's identity allowed to pull from the registry.
resource "azurerm_container_registry" "main" {
  name                = replace("acr${local.name}", "-", "") # acrtogglemasterprod
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "Basic"
  admin_enabled       = false # pulls use the kubelet identity, pushes the pipeline's OIDC identity
  tags                = local.tags
}

resource "azurerm_kubernetes_cluster" "main" {
  name                      = "aks-${local.name}"
  location                  = azurerm_resource_group.main.location
  resource_group_name       = azurerm_resource_group.main.name
  dns_prefix                = local.name
  kubernetes_version        = var.kubernetes_version
  sku_tier                  = "Free"
  automatic_upgrade_channel = "patch"
  node_os_upgrade_channel   = "NodeImage"
  oidc_issuer_enabled       = true

  default_node_pool {
    name                 = "system"
    vm_size              = var.aks_node_vm_size
    vnet_subnet_id       = azurerm_subnet.aks.id
    auto_scaling_enabled = true
    min_count            = var.aks_node_min_count
    max_count            = var.aks_node_max_count
    upgrade_settings {
      # Upgrades drain one node at a time, honouring the PodDisruptionBudgets of k8s/.
      max_surge                = "1"
      drain_timeout_in_minutes = 30
    }
  }

  identity {
    type = "SystemAssigned"
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    network_data_plane  = "cilium"
    network_policy      = "cilium"
    pod_cidr            = var.pod_cidr
    service_cidr        = var.service_cidr
    dns_service_ip      = cidrhost(var.service_cidr, 10)
    load_balancer_sku   = "standard"
  }

  # The KEDA add-on, for k8s/components/keda-analytics (analytics scaled on the queue depth).
  workload_autoscaler_profile {
    keda_enabled = var.keda_enabled
  }

  tags = local.tags

  lifecycle {
    # The cluster autoscaler owns the node count.
    ignore_changes = [default_node_pool[0].node_count]
    precondition {
      condition     = var.aks_node_min_count <= var.aks_node_max_count
      error_message = "aks_node_min_count must not be above aks_node_max_count."
    }
  }
}

# The nodes (kubelet identity) pull the images of k8s/ from the registry, without a password.
resource "azurerm_role_assignment" "aks_acr_pull" {
  scope                            = azurerm_container_registry.main.id
  role_definition_name             = "AcrPull"
  principal_id                     = azurerm_kubernetes_cluster.main.kubelet_identity[0].object_id
  skip_service_principal_aad_check = true
}

# In a subnet of our own VNet, the cluster's identity manages the nodes' network interfaces and
# load balancer rules there.
resource "azurerm_role_assignment" "aks_subnet" {
  scope                = azurerm_subnet.aks.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.main.identity[0].principal_id
}
