#!/usr/bin/env node
// Shows that lib/kustomize-lite.mjs renders what kubectl renders, object for object and field for
// field, so that the checks of deploy.k8s (which run without kubectl) are about what
// `kubectl apply -k` applies. kubectl names a generated ConfigMap <name>-<hash> and rewrites its
// references; that suffix is the only difference allowed.
//   node tests/deploy/k8s-same.mjs KUSTOMIZATION_DIR KUBECTL_OUTPUT.yaml
import fs from 'node:fs';
import { render } from './lib/kustomize-lite.mjs';
import { loadDocs } from './lib/yaml.mjs';

const [dir, rendered] = process.argv.slice(2);
if (!dir || !rendered) { console.error('usage: node k8s-same.mjs KUSTOMIZATION_DIR KUBECTL_OUTPUT.yaml'); process.exit(2); }
const canonical = (x) => (Array.isArray(x) ? x.map(canonical)
  : x && typeof x === 'object' ? Object.fromEntries(Object.keys(x).sort().map((k) => [k, canonical(x[k])])) : x);
const key = (o) => `${o.kind} ${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

const lite = render(dir).objects;
let text = fs.readFileSync(rendered, 'utf8');
for (const cm of lite.filter((o) => o.kind === 'ConfigMap')) {
  text = text.replace(new RegExp(`\\b${cm.metadata.name}-[a-z0-9]{10}\\b`, 'g'), cm.metadata.name);
}
const theirs = new Map(loadDocs(null, text).map((d) => [key(d.object), JSON.stringify(canonical(d.object))]));
const ours = new Map(lite.map((o) => [key(o), JSON.stringify(canonical(o))]));
const problems = [];
for (const k of ours.keys()) if (!theirs.has(k)) problems.push(`${k}: rendered by kustomize-lite, not by kubectl`);
for (const k of theirs.keys()) if (!ours.has(k)) problems.push(`${k}: rendered by kubectl, not by kustomize-lite`);
for (const [k, v] of ours) if (theirs.has(k) && theirs.get(k) !== v) problems.push(`${k}: differs\n    kustomize-lite: ${v}\n    kubectl:        ${theirs.get(k)}`);
if (problems.length) {
  console.log(`FAIL ${dir}: kustomize-lite and kubectl disagree`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
console.log(`ok   ${dir}: kustomize-lite renders the same ${ours.size} objects as kubectl`);
