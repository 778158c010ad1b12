#!/usr/bin/env node
// Checks ToggleMaster's Terraform offline (no provider download: `terraform validate` needs the
// registry). Every *.tf, the *.example files and *.hcl are parsed as HCL (@cdktf/hcl2json, the
// WASM build of HashiCorp's parser); then:
//  - references: var.X, local.X, data.T.N and resource T.N used anywhere are declared; a key used
//    on a for_each resource (T.N["k"]) is one of the keys of the map it iterates; nothing is
//    declared twice;
//  - variables have a type, a description and a validation; outputs have a description and a
//    value, and are sensitive when they carry a password, key or connection string;
//  - the azurerm provider is pinned to major version 4 and has its features {} block; a remote
//    backend block is declared;
//  - terraform.tfvars.example sets only declared variables, every variable without a default, and
//    no value that looks like a secret;
//  - the seed's infrastructure is all there (resource group, ACR Basic, AKS autoscaling 1-4 with
//    AcrPull for the kubelet, 3 PostgreSQL servers with auth_db/flags_db/targeting_db, Redis
//    TLS-only, Service Bus queue evaluation-events with dead-lettering, Cosmos DB Table API with
//    EvaluationEvents);
//  - with --k8s DIR, it agrees with the Kubernetes tree: every ${VARIABLE} of a secret template
//    that is not an application key is an output (scripts/k8s-secrets.sh --from-terraform reads
//    them), the registry name is the one the images name, and the PostgreSQL subnet is the CIDR
//    the NetworkPolicies allow on 5432.
//   node tests/deploy/terraform-check.mjs DIR [--k8s K8S_DIR]
import { terraformErrors } from './lib/terraform.mjs';

const args = process.argv.slice(2);
const k8sIndex = args.indexOf('--k8s');
const k8sDir = k8sIndex >= 0 ? args.splice(k8sIndex, 2)[1] : null;
const dir = args[0];
if (!dir || args.length !== 1) { console.error('usage: node terraform-check.mjs DIR [--k8s K8S_DIR]'); process.exit(2); }
const { errors, summary } = await terraformErrors(dir, { k8sDir });
for (const e of errors) console.log(`  error ${e}`);
console.log(`${errors.length ? 'FAIL' : 'ok  '} ${dir} (${summary}, ${errors.length} errors)`);
process.exit(errors.length ? 1 : 0);
