#!/usr/bin/env bash
# `terraform fmt -check` on terraform/, and on terraform.tfvars.example (read as a .tfvars file).
# Without a terraform binary (not in Debian's archive) the test is SKIPPED (77), never passed;
# tests/deploy/terraform-check.mjs still parses every file.
set -euo pipefail
dir=${1:?usage: terraform-fmt.sh TERRAFORM_DIR}
if ! command -v terraform >/dev/null 2>&1; then
  echo "SKIP: terraform is not installed (not in Debian's archive: https://developer.hashicorp.com/terraform/install);"
  echo "      terraform/ is still parsed and checked by deploy.terraform."
  exit 77
fi
terraform version 2>/dev/null | sed -n 1p  # sed reads it all: head would end terraform with SIGPIPE (and pipefail the script)
status=0
terraform fmt -check -recursive -diff "$dir" || status=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$dir/terraform.tfvars.example" "$tmp/example.tfvars"
terraform fmt -check -diff "$tmp/example.tfvars" || { echo "terraform.tfvars.example is not formatted (terraform fmt)"; status=1; }
[[ $status == 0 ]] && echo "ok   terraform fmt -check: $dir"
exit $status
