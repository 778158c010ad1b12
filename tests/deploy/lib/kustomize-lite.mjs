// The subset of kustomize that k8s/ uses, so that the policy checks run where kubectl is not
// installed (Debian has no kubectl package): resources (files and folders), configMapGenerator
// (files, literals), components (resources, and patches that delete an object), labels
// (pairs, includeSelectors: false). Anything else in a kustomization is an error here, never
// silently ignored. Generated ConfigMaps keep their plain name (kubectl adds a content hash and
// rewrites the references to it; the checks do not depend on the suffix).
import fs from 'node:fs';
import path from 'node:path';
import { loadDocs } from './yaml.mjs';

const KNOWN_KEYS = {
  Kustomization: new Set(['apiVersion', 'kind', 'resources', 'configMapGenerator', 'components', 'labels']),
  Component: new Set(['apiVersion', 'kind', 'resources', 'patches']),
};

function kustomizationFile(dir) {
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) {
    const f = path.join(dir, name);
    if (fs.existsSync(f)) return f;
  }
  throw new Error(`${dir}: no kustomization.yaml`);
}

// Renders the kustomization in `dir`. Returns { objects, files }: the objects (each with
// `source`, "file#n") and every file the render read, to find manifests nothing refers to.
export function render(dir, visiting = new Set()) {
  const file = kustomizationFile(dir);
  const real = fs.realpathSync(dir);
  // kustomize refuses a root that contains one being rendered ("../.." from an overlay inside it).
  for (const v of visiting) if (v === real || v.startsWith(real + path.sep)) throw new Error(`${file}: cycle: ${dir} contains ${v}, which is being rendered`);
  visiting = new Set([...visiting, real]);
  const [doc] = loadDocs(file);
  const k = doc.object ?? {};
  const kind = k.kind ?? 'Kustomization';
  if (!KNOWN_KEYS[kind]) throw new Error(`${file}: kind ${kind} is not a Kustomization or Component`);
  for (const key of Object.keys(k)) {
    if (!KNOWN_KEYS[kind].has(key)) throw new Error(`${file}: "${key}" is not understood by tests/deploy/lib/kustomize-lite.mjs (extend it, or render with kubectl)`);
  }
  const objects = [];
  const files = new Set([file]);
  const add = (r) => { objects.push(...r.objects); r.files.forEach((f) => files.add(f)); };
  for (const entry of k.resources ?? []) {
    const p = path.resolve(dir, entry);
    if (!fs.existsSync(p)) throw new Error(`${file}: resource ${entry} does not exist`);
    if (fs.statSync(p).isDirectory()) add(render(p, visiting));
    else {
      files.add(p);
      for (const d of loadDocs(p)) {
        if (d.errors.length) throw new Error(`${d.source}: YAML ${d.errors.join('; ')}`);
        if (d.object) objects.push({ ...d.object, [SOURCE]: d.source });
      }
    }
  }
  for (const g of k.configMapGenerator ?? []) {
    const data = {};
    for (const f of g.files ?? []) {
      const [key, rel] = f.includes('=') ? f.split('=', 2) : [path.basename(f), f];
      const p = path.resolve(dir, rel);
      if (!fs.existsSync(p)) throw new Error(`${file}: configMapGenerator file ${f} does not exist`);
      if (!fs.realpathSync(p).startsWith(real + path.sep)) throw new Error(`${file}: ${f} is outside the kustomization's folder (kustomize refuses it)`);
      files.add(p);
      data[key] = fs.readFileSync(p, 'utf8');
    }
    for (const l of g.literals ?? []) {
      const i = l.indexOf('=');
      data[l.slice(0, i)] = l.slice(i + 1);
    }
    const metadata = { name: g.name };
    if (g.namespace) metadata.namespace = g.namespace;
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data, [SOURCE]: `${file} (configMapGenerator ${g.name})` });
  }
  for (const c of k.components ?? []) {
    const cdir = path.resolve(dir, c);
    const cfile = kustomizationFile(cdir);
    const [cdoc] = loadDocs(cfile);
    if (cdoc.object?.kind !== 'Component') throw new Error(`${file}: ${c} is not a kustomize Component`);
    const comp = render(cdir, visiting);
    comp.files.forEach((f) => files.add(f));
    objects.push(...comp.objects);
    for (const p of cdoc.object.patches ?? []) deletePatch(objects, p, cfile);
  }
  for (const l of k.labels ?? []) {
    if (l.includeSelectors) throw new Error(`${file}: labels with includeSelectors are not understood by kustomize-lite`);
    for (const o of objects) o.metadata = { ...o.metadata, labels: { ...(o.metadata?.labels ?? {}), ...l.pairs } };
  }
  return { objects, files };
}

// A component's `patches` entry of the form "$patch: delete" removes its target.
function deletePatch(objects, p, file) {
  const body = typeof p.patch === 'string' ? loadDocs(null, p.patch)[0]?.object : null;
  if (!body || body.$patch !== 'delete' || !p.target) throw new Error(`${file}: only "$patch: delete" patches with a target are understood by kustomize-lite`);
  const t = p.target;
  const i = objects.findIndex((o) => o.kind === t.kind && o.metadata?.name === t.name && (!t.namespace || o.metadata?.namespace === t.namespace));
  if (i < 0) throw new Error(`${file}: patch target ${t.kind}/${t.name} does not exist`);
  objects.splice(i, 1);
}

// Where an object came from ("file#n"), kept off the object's own keys.
export const SOURCE = Symbol('source');
