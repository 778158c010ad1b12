#!/usr/bin/env node
// Checks ToggleMaster's Kubernetes manifests offline: each object against the API schemas
// (lib/k8s-schema.mjs), then the project's policies on the whole tree (lib/k8s-policy.mjs).
//
//   node tests/deploy/k8s-check.mjs TARGET... [--templates DIR] [--keda] [--orphans DIR]
//
// A TARGET is a folder with a kustomization.yaml (rendered by lib/kustomize-lite.mjs, no kubectl
// needed) or a YAML file (e.g. the output of `kubectl kustomize k8s/`). Secret templates
// (*secret.template.yaml, never applied as they are) are read from --templates (default k8s/).
// --keda: the tree must have a KEDA ScaledObject. --orphans DIR: every YAML file below DIR must be
// read by one of the kustomization TARGETs, or be a secret template. --same-as DIR: each TARGET
// renders what the kustomization DIR renders, but for KEDA's objects and the HPAs they replace
// (k8s/overlays/keda repeats k8s/'s list of resources: this keeps the two lists equal).
// Exit status 0 when every target passes; each problem is printed on its own line.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDocs, yamlFiles } from './lib/yaml.mjs';
import { render, SOURCE } from './lib/kustomize-lite.mjs';
import { schemaErrors } from './lib/k8s-schema.mjs';
import { policyErrors } from './lib/k8s-policy.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : fallback; };
const flag = (name) => { const i = args.indexOf(name); if (i >= 0) args.splice(i, 1); return i >= 0; };
const templatesDir = option('--templates', path.join(repo, 'k8s'));
const orphansDir = option('--orphans', null);
const readme = option('--readme', path.join(repo, 'README.md'));
const sameAs = option('--same-as', null);
const expectKeda = flag('--keda');
if (!args.length || args.some((a) => a.startsWith('--'))) {
  console.error('usage: node k8s-check.mjs TARGET... [--templates DIR] [--keda] [--orphans DIR] [--same-as DIR] [--readme FILE]');
  process.exit(2);
}

function templates() {
  const out = [];
  for (const f of yamlFiles(templatesDir).filter((x) => x.endsWith('secret.template.yaml'))) {
    for (const d of loadDocs(f)) {
      if (d.errors.length) throw new Error(`${d.source}: YAML ${d.errors.join('; ')}`);
      out.push({ ...d.object, [SOURCE]: d.source });
    }
  }
  return out;
}

// What `objects` has that `base` has not, and the reverse, allowing only KEDA's objects and the
// HPAs of the Deployments a ScaledObject scales.
function differences(base, objects) {
  const key = (o) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`;
  const canonical = (x) => JSON.stringify(x, (k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((n) => [n, v[n]])) : v));
  const scaled = new Set(objects.filter((o) => o.kind === 'ScaledObject').map((o) => `${o.metadata.namespace}/${o.spec?.scaleTargetRef?.name}`));
  const theirs = new Map(base.map((o) => [key(o), o]));
  const ours = new Map(objects.map((o) => [key(o), o]));
  const out = [];
  for (const [k, o] of theirs) {
    if (ours.has(k)) { if (canonical(ours.get(k)) !== canonical(o)) out.push(`${k} differs from ${sameAs}'s`); continue; }
    if (o.kind === 'HorizontalPodAutoscaler' && scaled.has(`${o.metadata.namespace}/${o.spec?.scaleTargetRef?.name}`)) continue;
    out.push(`${k} of ${sameAs} is missing (keep the resources of both kustomizations equal)`);
  }
  for (const k of ours.keys()) if (!theirs.has(k) && !/^(ScaledObject|TriggerAuthentication) /.test(k)) out.push(`${k} is not in ${sameAs}`);
  return out;
}

let failed = 0;
const readFiles = new Set();
for (const target of args) {
  const problems = [];
  let objects = [];
  try {
    if (fs.statSync(target).isDirectory()) {
      const r = render(target);
      objects = r.objects;
      r.files.forEach((f) => readFiles.add(path.resolve(f)));
    } else {
      for (const d of loadDocs(target)) {
        if (d.errors.length) problems.push(`${d.source}: YAML ${d.errors.join('; ')}`);
        else objects.push({ ...d.object, [SOURCE]: d.source });
      }
    }
    const tpl = templates();
    for (const o of [...objects, ...tpl]) {
      for (const e of schemaErrors(o)) problems.push(`${o[SOURCE] ?? target} ${o.kind}/${o.metadata?.name}: ${e}`);
    }
    problems.push(...policyErrors(objects, tpl, { readme, expectKeda }));
    if (sameAs) problems.push(...differences(render(sameAs).objects, objects));
  } catch (e) {
    problems.push(e.message);
  }
  if (problems.length) {
    failed++;
    console.log(`FAIL ${target} (${objects.length} objects, ${problems.length} problems)`);
    for (const p of problems) console.log(`  - ${p}`);
  } else console.log(`ok   ${target} (${objects.length} objects)`);
}
if (orphansDir) {
  const orphans = yamlFiles(orphansDir).map((f) => path.resolve(f))
    .filter((f) => !readFiles.has(f) && !f.endsWith('secret.template.yaml'));
  if (orphans.length) {
    failed++;
    console.log(`FAIL ${orphansDir}: manifests that no kustomization applies:`);
    for (const o of orphans) console.log(`  - ${path.relative(repo, o)}`);
  } else console.log(`ok   ${orphansDir}: every manifest is applied by a kustomization`);
}
process.exit(failed ? 1 : 0);
