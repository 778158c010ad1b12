terraform {
  required_version = ">= 1.5.0"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # Remote state in an Azure Storage blob, locked with a blob lease while a plan or apply runs.
  # The storage account is made once, outside this configuration (docs/deploy.md, "Terraform");
  # its coordinates come from a file kept out of git:
  #   cp backend.hcl.example backend.hcl   # edit, then
  #   terraform init -backend-config=backend.hcl
  # To try without it, delete this block: the state then stays in a local terraform.tfstate,
  # which holds the databases' passwords and the access keys in clear: keep it private.
  backend "azurerm" {}
}
