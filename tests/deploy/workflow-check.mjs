#!/usr/bin/env node
// Checks the GitHub Actions workflows offline: each file against the Actions workflow schema
// (@action-validator/core: SchemaStore's schema compiled to WASM, plus checks such as `needs`
// naming a job that exists), then what ToggleMaster expects of them:
//  - every action pinned to a version (never @main/@master or unpinned);
//  - ci.yml: on push and pull_request; `make test` in a Debian 12 container; `make test-deploy`;
//  - deploy.yml: only from main; a concurrency group that does not cancel a running deployment;
//    OIDC (id-token: write, azure/login with client-id/tenant-id/subscription-id, no stored
//    credentials); a build matrix over the five services building `--target <service>`; then
//    `kubectl set image` and `kubectl rollout status` per namespace after the build, with the
//    service -> namespace map equal to where k8s/ puts each Deployment (--k8s DIR).
//   node tests/deploy/workflow-check.mjs DIR_OR_FILE... [--k8s K8S_DIR]
import fs from 'node:fs';
import path from 'node:path';
import { workflowErrors } from './lib/workflows.mjs';

const args = process.argv.slice(2);
const k8sIndex = args.indexOf('--k8s');
const k8sDir = k8sIndex >= 0 ? args.splice(k8sIndex, 2)[1] : null;
if (!args.length) { console.error('usage: node workflow-check.mjs DIR_OR_FILE... [--k8s K8S_DIR]'); process.exit(2); }
const files = args.flatMap((p) => (fs.statSync(p).isDirectory()
  ? fs.readdirSync(p).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(p, f)) : [p]));
let failed = 0;
for (const f of files) {
  const problems = workflowErrors(f, { k8sDir });
  if (problems.length) {
    failed++;
    console.log(`FAIL ${f}`);
    for (const p of problems) console.log(`  - ${p}`);
  } else console.log(`ok   ${f}`);
}
process.exit(failed ? 1 : 0);
