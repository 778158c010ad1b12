#!/usr/bin/env node
// The deploy checks' npm packages (tests/package.json) are installed; if not, says how.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const missing = ['yaml', 'ajv', 'ajv-formats', 'kubernetes-models/apps/v1/Deployment', '@cdktf/hcl2json', '@action-validator/core', 'dclint/package.json']
  .filter((p) => { try { require.resolve(p); return false; } catch { return true; } });
if (missing.length) {
  console.log(`missing npm packages: ${missing.join(', ')}\nrun scripts/install-deps.sh --test (it installs tests/package.json's packages into tests/node_modules)`);
  process.exit(1);
}
console.log(`ok   npm packages of the deploy checks (node ${process.version})`);
