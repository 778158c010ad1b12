#!/usr/bin/env node
// Checks a Docker Compose file offline, without Docker: after variable interpolation (as Compose
// does: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR, $$), the
// file against the Compose Specification's JSON schema (the compose.schema.json that the npm
// package dclint ships), then the references a schema cannot see: depends_on, links and
// volumes_from name services that exist; named volumes, networks, configs and secrets are
// declared at the top level; a `condition: service_healthy` dependency has a healthcheck to wait
// for; every service has an image or a build. Variables come from the environment, then from the
// .env file next to the Compose file (as Compose reads it), or from --env-file.
//   node tests/deploy/compose-check.mjs FILE... [--env-file FILE]
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import YAML from 'yaml';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const require = createRequire(import.meta.url);
const dclint = path.dirname(require.resolve('dclint/package.json'));
const schema = JSON.parse(fs.readFileSync(path.join(dclint, 'schemas', 'compose.schema.json'), 'utf8'));

const args = process.argv.slice(2);
const files = [];
let env = { ...process.env };
let envFile = null;
function readEnvFile(file) {
  const out = { ...process.env };
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/);
    if (m && !(m[1] in process.env)) out[m[1]] = m[2].replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--env-file') envFile = args[++i];
  else files.push(args[i]);
}
if (!files.length) { console.error('usage: node compose-check.mjs FILE... [--env-file FILE]'); process.exit(2); }

function interpolate(s, problems) {
  return s.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name, colon, op, arg, bare) => {
    if (m === '$$') return '$';
    if (bare) return env[bare] ?? '';
    const v = env[name];
    const unset = v === undefined || (colon === ':' && v === '');
    if (!op) return v ?? '';
    if (op === '-') return unset ? arg : v;
    if (op === '+') return unset ? '' : arg;
    if (unset) problems.push(`required variable ${name} is not set: ${arg}`);
    return v ?? '';
  });
}
// Compose interpolates strings, then reads numbers where the schema wants them.
function walk(x, problems) {
  if (typeof x === 'string') {
    if (!x.includes('$')) return x;
    const r = interpolate(x, problems);
    return /^-?\d+(\.\d+)?$/.test(r) && /^\$\{?[A-Za-z_].*\}?$/.test(x.trim()) ? Number(r) : r;
  }
  if (Array.isArray(x)) return x.map((v) => walk(v, problems));
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, walk(v, problems)]));
  return x;
}

const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
addFormats(ajv);
ajv.addFormat('duration', /^((\d+h)?(\d+m)?(\d+(\.\d+)?s)?(\d+ms)?(\d+us)?|\d+)$/);
ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
delete schema.$schema; // draft-07 (Ajv's default) under a URI Ajv does not know
const validate = ajv.compile(schema);

function references(doc) {
  const errs = [];
  const services = doc.services ?? {};
  const names = new Set(Object.keys(services));
  const top = (k) => new Set(Object.keys(doc[k] ?? {}));
  const volumes = top('volumes'); const networks = top('networks'); const configs = top('configs'); const secrets = top('secrets');
  for (const [svc, s] of Object.entries(services)) {
    if (!s || typeof s !== 'object') continue;
    const deps = Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {});
    for (const [d, spec] of Object.entries(deps)) {
      if (!names.has(d)) errs.push(`services.${svc}.depends_on: service "${d}" is not defined`);
      else if (spec?.condition === 'service_healthy' && !services[d]?.healthcheck && !services[d]?.extends) errs.push(`services.${svc}.depends_on: waits for "${d}" to be healthy, but "${d}" has no healthcheck`);
    }
    for (const l of s.links ?? []) { const t = String(l).split(':')[0]; if (!names.has(t)) errs.push(`services.${svc}.links: service "${t}" is not defined`); }
    for (const vf of s.volumes_from ?? []) { const t = String(vf).split(':')[0]; if (!t.startsWith('container') && !names.has(t)) errs.push(`services.${svc}.volumes_from: service "${t}" is not defined`); }
    for (const v of s.volumes ?? []) {
      const src = typeof v === 'string' ? (v.includes(':') ? v.split(':')[0] : null) : (v?.type === 'volume' ? v.source : null);
      if (src && !/^[./~]|^[A-Za-z]:\\/.test(src) && !volumes.has(src)) errs.push(`services.${svc}.volumes: named volume "${src}" is not declared under the top-level volumes`);
    }
    const nets = Array.isArray(s.networks) ? s.networks : Object.keys(s.networks ?? {});
    for (const n of nets) if (n !== 'default' && !networks.has(n)) errs.push(`services.${svc}.networks: network "${n}" is not declared under the top-level networks`);
    for (const c of s.configs ?? []) { const t = typeof c === 'string' ? c : c.source; if (!configs.has(t)) errs.push(`services.${svc}.configs: config "${t}" is not declared`); }
    for (const c of s.secrets ?? []) { const t = typeof c === 'string' ? c : c.source; if (!secrets.has(t)) errs.push(`services.${svc}.secrets: secret "${t}" is not declared`); }
    if (!s.image && !s.build && !s.extends) errs.push(`services.${svc}: needs an image or a build`);
  }
  return errs;
}

let failed = 0;
for (const file of files) {
  const problems = [];
  const dotEnv = path.join(path.dirname(file), '.env');
  env = envFile ? readEnvFile(envFile) : fs.existsSync(dotEnv) ? readEnvFile(dotEnv) : { ...process.env };
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'), { merge: true });
  const yamlErrors = docs.flatMap((d) => d.errors.map((e) => e.message));
  if (yamlErrors.length) problems.push(`YAML: ${yamlErrors.join('; ')}`);
  else if (docs.length !== 1) problems.push(`one YAML document expected, found ${docs.length}`);
  else {
    const doc = walk(docs[0].toJS({ maxAliasCount: 1000 }), problems);
    if (!validate(doc)) {
      for (const e of validate.errors) {
        if (e.keyword === 'oneOf' || e.keyword === 'anyOf') continue; // the branches' own errors say more
        const extra = e.keyword === 'additionalProperties' ? ` "${e.params.additionalProperty}"` : (e.keyword === 'enum' ? ` ${JSON.stringify(e.params.allowedValues)}` : '');
        problems.push(`${e.instancePath || '/'} ${e.message}${extra}`);
      }
      if (!problems.length) problems.push(ajv.errorsText(validate.errors));
    }
    if (doc && typeof doc === 'object') problems.push(...references(doc));
  }
  if (problems.length) {
    failed++;
    console.log(`FAIL ${file}`);
    for (const p of [...new Set(problems)]) console.log(`  - ${p}`);
  } else console.log(`ok   ${file}`);
}
process.exit(failed ? 1 : 0);
