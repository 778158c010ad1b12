# Every setting of the Azure infrastructure, with the seed's values as defaults. Copy
# terraform.tfvars.example to terraform.tfvars and set at least subscription_id.

variable "subscription_id" {
  type        = string
  description = "The Azure subscription to deploy into (az account show --query id -o tsv)."
  validation {
    condition     = can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", var.subscription_id))
    error_message = "subscription_id must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)."
  }
}

variable "project" {
  type        = string
  description = "Project name, the first part of every resource name (rg-<project>-<environment>, acr<project><environment>, ...)."
  default     = "togglemaster"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,15}$", var.project))
    error_message = "project must be 3-16 lowercase letters and digits, starting with a letter (it is part of globally unique names such as the registry's)."
  }
}

variable "environment" {
  type        = string
  description = "Environment name, the second part of every resource name (prod, staging, dev)."
  default     = "prod"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,7}$", var.environment))
    error_message = "environment must be 2-8 lowercase letters and digits, starting with a letter."
  }
}

variable "location" {
  type        = string
  description = "Azure region of every resource. The seed used eastus, with PostgreSQL in eastus2 for lack of quota; here one region holds all (the servers join the VNet, which needs the same region)."
  default     = "eastus2"
  validation {
    condition     = can(regex("^[a-z]+[a-z0-9]*$", var.location))
    error_message = "location must be a region name such as eastus2 or brazilsouth (lowercase, no spaces)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource (project, environment and managed-by are always set)."
  default     = {}
  validation {
    condition     = alltrue([for k, v in var.tags : length(k) <= 512 && length(v) <= 256])
    error_message = "Tag names are at most 512 characters and values at most 256."
  }
}

variable "kubernetes_version" {
  type        = string
  description = "AKS Kubernetes version (a minor version such as 1.33 takes its latest patch); null for AKS's default."
  default     = null
  validation {
    condition     = var.kubernetes_version == null ? true : can(regex("^1\\.[0-9]+(\\.[0-9]+)?$", var.kubernetes_version))
    error_message = "kubernetes_version must be like 1.33 or 1.33.2, or null."
  }
}

variable "aks_node_vm_size" {
  type        = string
  description = "VM size of the AKS nodes (the seed's Standard_B2s: 2 vCPUs, 4 GiB, burstable; docs/cost.md)."
  default     = "Standard_B2s"
  validation {
    condition     = can(regex("^Standard_[A-Za-z0-9_]+$", var.aks_node_vm_size))
    error_message = "aks_node_vm_size must be an Azure VM size such as Standard_B2s or Standard_D2s_v5."
  }
}

variable "aks_node_min_count" {
  type        = number
  description = "Fewest AKS nodes the cluster autoscaler keeps (the seed: 1)."
  default     = 1
  validation {
    condition     = var.aks_node_min_count >= 1 && var.aks_node_min_count <= 100 && floor(var.aks_node_min_count) == var.aks_node_min_count
    error_message = "aks_node_min_count must be a whole number from 1 to 100."
  }
}

variable "aks_node_max_count" {
  type        = number
  description = "Most AKS nodes the cluster autoscaler adds (the seed: 4)."
  default     = 4
  validation {
    condition     = var.aks_node_max_count >= 1 && var.aks_node_max_count <= 100 && floor(var.aks_node_max_count) == var.aks_node_max_count
    error_message = "aks_node_max_count must be a whole number from 1 to 100."
  }
}

variable "keda_enabled" {
  type        = bool
  description = "Install AKS's KEDA add-on, for the optional k8s/components/keda-analytics (analytics scaled on the queue depth, down to zero)."
  default     = false
}

variable "vnet_cidr" {
  type        = string
  description = "Address space of the VNet."
  default     = "10.42.0.0/16"
  validation {
    condition     = can(cidrhost(var.vnet_cidr, 0))
    error_message = "vnet_cidr must be a CIDR block such as 10.42.0.0/16."
  }
}

variable "aks_subnet_cidr" {
  type        = string
  description = "Subnet of the AKS nodes (pods get addresses from pod_cidr, an overlay)."
  default     = "10.42.0.0/23"
  validation {
    condition     = can(cidrhost(var.aks_subnet_cidr, 0))
    error_message = "aks_subnet_cidr must be a CIDR block inside vnet_cidr."
  }
}

variable "postgres_subnet_cidr" {
  type        = string
  description = "Subnet delegated to the PostgreSQL servers. The NetworkPolicies of k8s/ allow port 5432 to this CIDR only: change both together."
  default     = "10.42.2.0/24"
  validation {
    condition     = can(cidrhost(var.postgres_subnet_cidr, 0))
    error_message = "postgres_subnet_cidr must be a CIDR block inside vnet_cidr."
  }
}

variable "pod_cidr" {
  type        = string
  description = "Pod addresses (Azure CNI overlay): private, outside the VNet."
  default     = "10.244.0.0/16"
  validation {
    condition     = can(cidrhost(var.pod_cidr, 0))
    error_message = "pod_cidr must be a CIDR block such as 10.244.0.0/16."
  }
}

variable "service_cidr" {
  type        = string
  description = "Kubernetes Service addresses (the cluster DNS is its 10th address)."
  default     = "10.96.0.0/16"
  validation {
    condition     = can(cidrhost(var.service_cidr, 10))
    error_message = "service_cidr must be a CIDR block with at least 16 addresses, such as 10.96.0.0/16."
  }
}

variable "postgres_version" {
  type        = string
  description = "PostgreSQL major version. 15 is what make test runs against; 16 and 17 work with the same client."
  default     = "15"
  validation {
    condition     = contains(["15", "16", "17"], var.postgres_version)
    error_message = "postgres_version must be 15, 16 or 17."
  }
}

variable "postgres_sku_name" {
  type        = string
  description = "SKU of each PostgreSQL server (the seed's B_Standard_B1ms: 1 vCPU, 2 GiB, burstable, 50 connections)."
  default     = "B_Standard_B1ms"
  validation {
    condition     = can(regex("^(B|GP|MO)_Standard_[A-Za-z0-9_]+$", var.postgres_sku_name))
    error_message = "postgres_sku_name must be tier_size, such as B_Standard_B1ms or GP_Standard_D2ds_v5."
  }
}

variable "postgres_storage_mb" {
  type        = number
  description = "Storage of each PostgreSQL server in MiB (the seed: 32 GB); it can grow later, never shrink."
  default     = 32768
  validation {
    condition     = contains([32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 4194304, 8388608, 16777216, 33553408], var.postgres_storage_mb)
    error_message = "postgres_storage_mb must be one of Azure's sizes: 32768, 65536, 131072, ... 33553408."
  }
}

variable "postgres_zone" {
  type        = string
  description = "Availability zone of the PostgreSQL servers (set, so that a plan shows no drift; the seed's fix). Not every region has zones for B1ms: null lets Azure choose."
  default     = "1"
  validation {
    condition     = var.postgres_zone == null ? true : contains(["1", "2", "3"], var.postgres_zone)
    error_message = "postgres_zone must be 1, 2, 3 or null."
  }
}

variable "postgres_admin_login" {
  type        = string
  description = "Administrator login of each PostgreSQL server; the services connect as it (its password is generated and only in the state and the outputs)."
  default     = "togglemaster"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.postgres_admin_login)) && !contains(["admin", "administrator", "root", "guest", "public", "azure_superuser", "azure_pg_admin", "postgres"], var.postgres_admin_login)
    error_message = "postgres_admin_login must be a lowercase identifier and not a reserved name (admin, administrator, root, guest, public, postgres, azure_*)."
  }
}

variable "redis_sku_name" {
  type        = string
  description = "Azure Cache for Redis tier (the seed's Basic: one node, no SLA)."
  default     = "Basic"
  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.redis_sku_name)
    error_message = "redis_sku_name must be Basic, Standard or Premium."
  }
}

variable "redis_family" {
  type        = string
  description = "Azure Cache for Redis family: C for Basic and Standard, P for Premium."
  default     = "C"
  validation {
    condition     = contains(["C", "P"], var.redis_family)
    error_message = "redis_family must be C (Basic, Standard) or P (Premium)."
  }
}

variable "redis_capacity" {
  type        = number
  description = "Azure Cache for Redis size (the seed's C0: 250 MB, enough for the flags and rules of 10,000 flags)."
  default     = 0
  validation {
    condition     = contains([0, 1, 2, 3, 4, 5, 6], var.redis_capacity)
    error_message = "redis_capacity must be 0-6 (family C) or 1-4 (family P)."
  }
}

variable "servicebus_sku" {
  type        = string
  description = "Service Bus tier (the seed's Basic: queues only, which is all the pipeline uses)."
  default     = "Basic"
  validation {
    condition     = contains(["Basic", "Standard", "Premium"], var.servicebus_sku)
    error_message = "servicebus_sku must be Basic, Standard or Premium."
  }
}

variable "servicebus_max_delivery_count" {
  type        = number
  description = "Deliveries of a message before Service Bus moves it to the dead-letter queue (a message analytics cannot store does not block the rest)."
  default     = 10
  validation {
    condition     = var.servicebus_max_delivery_count >= 1 && var.servicebus_max_delivery_count <= 2000
    error_message = "servicebus_max_delivery_count must be between 1 and 2000."
  }
}

variable "servicebus_message_ttl" {
  type        = string
  description = "How long an event may wait in the queue (ISO 8601; Basic allows at most 14 days); expired messages are dead-lettered, not lost."
  default     = "P14D"
  validation {
    condition     = can(regex("^P(?:[0-9]+D)?(?:T(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+S)?)?$", var.servicebus_message_ttl)) && var.servicebus_message_ttl != "P" && var.servicebus_message_ttl != "PT"
    error_message = "servicebus_message_ttl must be an ISO 8601 duration such as P14D or PT12H."
  }
}

variable "servicebus_queue_size_mb" {
  type        = number
  description = "Size of the queue: events wait there while analytics is down or slower than evaluation (about 2 million events per GB)."
  default     = 5120
  validation {
    condition     = contains([1024, 2048, 3072, 4096, 5120], var.servicebus_queue_size_mb)
    error_message = "servicebus_queue_size_mb must be 1024, 2048, 3072, 4096 or 5120 (Basic and Standard)."
  }
}

variable "cosmos_capacity_mode" {
  type        = string
  description = "Cosmos DB billing: provisioned (throughput reserved per table, the seed's 400 RU/s) or serverless (per request unit used; docs/cost.md compares them)."
  default     = "provisioned"
  validation {
    condition     = contains(["provisioned", "serverless"], var.cosmos_capacity_mode)
    error_message = "cosmos_capacity_mode must be provisioned or serverless."
  }
}

variable "cosmos_tables" {
  type        = map(number)
  description = "Tables of the Table API and their throughput in RU/s when provisioned. analytics-service writes AZURE_COSMOS_TABLE (EvaluationEvents); list here any other table the service uses."
  default     = { EvaluationEvents = 400 }
  validation {
    condition     = alltrue([for name, ru in var.cosmos_tables : can(regex("^[A-Za-z][A-Za-z0-9]{2,62}$", name)) && ru >= 400 && ru % 100 == 0])
    error_message = "Table names are 3-63 letters and digits starting with a letter; throughput is at least 400 RU/s, in steps of 100."
  }
}

variable "cosmos_free_tier" {
  type        = bool
  description = "Use Cosmos DB's free tier (the first 1000 RU/s and 25 GB free; one account per subscription)."
  default     = false
}
