// Kubernetes objects against the API's schemas, offline:
//  - built-in kinds: the JSON-schema validators precompiled in the npm package kubernetes-models
//    (the OpenAPI of Kubernetes 1.33): required fields, types, enums, formats;
//  - unknown (misspelt) fields, which those schemas let through: every key is looked up in the
//    package's TypeScript declarations, which list each API type's fields;
//  - KEDA's ScaledObject and TriggerAuthentication (CRDs, not in the package): their required
//    fields and known keys, from KEDA's documentation (v2).
// Any other kind is an error: a typo in apiVersion/kind, or a CRD this project does not know.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

function modelFor(apiVersion, kind) {
  try { return { Model: require(modulePath(apiVersion, kind))[kind], file: require.resolve(modulePath(apiVersion, kind)) }; } catch { return null; }
}

// --- unknown fields, from the .d.ts files -------------------------------------------------
const interfaces = new Map(); // d.ts file -> { fields: Map(name -> {refs: [file], map: bool}) } | null (a leaf type)

function parseDts(file) {
  if (interfaces.has(file)) return interfaces.get(file);
  interfaces.set(file, null); // recursion guard: a type referring to itself
  const src = fs.readFileSync(file, 'utf8');
  const imports = new Map();
  for (const m of src.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
    for (const name of m[1].split(',').map((s) => s.trim())) imports.set(name, m[2]);
  }
  const body = src.match(/export interface I\w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}\n/);
  if (!body) return null;
  const fields = new Map();
  // Fields at the interface's own depth (4 spaces): "name"?: Type; — a map type spans lines:
  // "labels"?: {\n [key: string]: string;\n };
  for (const m of body[1].matchAll(/^ {4}"([^"]+)"\??: ((?:\{\n[^}]*\n {4}\})|.+);$/gm)) {
    const type = m[2].replace(/\s+/g, ' ');
    const refs = [...type.matchAll(/\b(I[A-Z]\w+)\b/g)].map((r) => r[1]).filter((n) => imports.has(n));
    const resolved = refs.map((n) => {
      const spec = imports.get(n);
      const base = spec.startsWith('.') ? path.resolve(path.dirname(file), spec) : require.resolve(spec).replace(/\.js$/, '');
      return `${base.replace(/\.js$/, '')}.d.ts`;
    });
    fields.set(m[1], { refs: resolved, map: /^\{ ?\[key: string\]/.test(type) });
  }
  if (/ extends TypeMeta/.test(body[0])) { fields.set('apiVersion', { refs: [] }); fields.set('kind', { refs: [] }); }
  const result = { fields };
  interfaces.set(file, result);
  return result;
}

function unknownFields(value, dts, where, out) {
  if (value === null || typeof value !== 'object') return out;
  const t = parseDts(dts);
  if (!t) return out; // a leaf: IntOrString, Quantity, Time, …
  if (Array.isArray(value)) { value.forEach((v, i) => unknownFields(v, dts, `${where}[${i}]`, out)); return out; }
  for (const [key, v] of Object.entries(value)) {
    const f = t.fields.get(key);
    if (!f) { out.push(`${where}/${key}: unknown field (not in ${path.basename(dts, '.d.ts')})`); continue; }
    if (f.map) {
      for (const [k2, v2] of Object.entries(v ?? {})) for (const r of f.refs) unknownFields(v2, r, `${where}/${key}/${k2}`, out);
    } else for (const r of f.refs) unknownFields(v, r, `${where}/${key}`, out);
  }
  return out;
}

// --- KEDA -----------------------------------------------------------------------------------
const KEDA = {
  'keda.sh/v1alpha1 ScaledObject': {
    spec: ['scaleTargetRef', 'pollingInterval', 'cooldownPeriod', 'initialCooldownPeriod', 'idleReplicaCount', 'minReplicaCount', 'maxReplicaCount', 'fallback', 'advanced', 'triggers'],
    required: ['scaleTargetRef', 'triggers'],
    check(spec, errs) {
      if (!spec.scaleTargetRef?.name) errs.push('/spec/scaleTargetRef/name is required');
      if (!Array.isArray(spec.triggers) || !spec.triggers.length) errs.push('/spec/triggers needs at least one trigger');
      for (const [i, t] of (spec.triggers ?? []).entries()) {
        for (const k of Object.keys(t)) if (!['type', 'metadata', 'name', 'useCachedMetrics', 'authenticationRef', 'metricType'].includes(k)) errs.push(`/spec/triggers[${i}]/${k}: unknown field`);
        if (typeof t.type !== 'string') errs.push(`/spec/triggers[${i}]/type is required`);
        for (const [k, v] of Object.entries(t.metadata ?? {})) if (typeof v !== 'string') errs.push(`/spec/triggers[${i}]/metadata/${k} must be a string (KEDA reads metadata as strings)`);
      }
      for (const k of ['minReplicaCount', 'maxReplicaCount', 'pollingInterval', 'cooldownPeriod']) {
        if (spec[k] !== undefined && !(Number.isInteger(spec[k]) && spec[k] >= 0)) errs.push(`/spec/${k} must be a non-negative integer`);
      }
      if ((spec.minReplicaCount ?? 0) > (spec.maxReplicaCount ?? 100)) errs.push('/spec/minReplicaCount is above maxReplicaCount');
    },
  },
  'keda.sh/v1alpha1 TriggerAuthentication': {
    spec: ['secretTargetRef', 'env', 'podIdentity', 'hashiCorpVault', 'azureKeyVault', 'configMapTargetRef', 'awsSecretManager', 'gcpSecretManager', 'boundServiceAccountToken'],
    required: [],
    check(spec, errs) {
      if (!Object.keys(spec).length) errs.push('/spec names no source of credentials');
      for (const [i, r] of (spec.secretTargetRef ?? []).entries()) {
        for (const k of ['parameter', 'name', 'key']) if (typeof r[k] !== 'string') errs.push(`/spec/secretTargetRef[${i}]/${k} is required`);
      }
    },
  },
};

function kedaErrors(obj, def) {
  const errs = [];
  for (const k of Object.keys(obj)) if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k)) errs.push(`/${k}: unknown field`);
  if (!obj.metadata?.name) errs.push('/metadata/name is required');
  const spec = obj.spec ?? {};
  for (const k of Object.keys(spec)) if (!def.spec.includes(k)) errs.push(`/spec/${k}: unknown field`);
  for (const k of def.required) if (spec[k] === undefined) errs.push(`/spec/${k} is required`);
  def.check(spec, errs);
  return errs;
}

// The problems of one object against its schema ([] when valid).
export function schemaErrors(obj) {
  if (!obj || typeof obj !== 'object' || !obj.apiVersion || !obj.kind) return ['not a Kubernetes object (apiVersion/kind missing)'];
  const keda = KEDA[`${obj.apiVersion} ${obj.kind}`];
  if (keda) return kedaErrors(obj, keda);
  const m = modelFor(obj.apiVersion, obj.kind);
  if (!m) return [`unknown apiVersion/kind ${obj.apiVersion} ${obj.kind} (a typo, a removed API, or a CRD this check does not know)`];
  const errs = [];
  try {
    new m.Model(obj).validate();
  } catch (e) {
    for (const x of e.errors ?? [{ message: e.message }]) {
      errs.push(`${x.instancePath || '/'} ${x.message ?? x.keyword}${x.params ? ` ${JSON.stringify(x.params)}` : ''}`);
    }
  }
  const dts = m.file.replace(/\.js$/, '.d.ts');
  unknownFields(obj, dts, '', errs);
  return errs;
}
