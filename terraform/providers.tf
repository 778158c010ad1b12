provider "azurerm" {
  features {}
  # azurerm 4.x needs the subscription explicitly (or ARM_SUBSCRIPTION_ID in the environment).
  subscription_id = var.subscription_id
}
