// The checks of tests/deploy/terraform-check.mjs (see there), as a function.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { loadDocs, yamlFiles } from './yaml.mjs';

// Keys of the Kubernetes secret templates that are the application's own, not Terraform's.
const APPLICATION_SECRETS = new Set(['MASTER_KEY', 'SERVICE_API_KEY', 'LOADTEST_API_KEY']);
// Attributes that hold a secret: an output that uses one must be sensitive.
const SECRET_ATTRIBUTES = /\.(primary_key|secondary_key|primary_access_key|secondary_access_key|primary_connection_string|secondary_connection_string|administrator_password|kube_config_raw|kube_admin_config_raw)\b|random_password\.[\w-]+(\[[^\]]*\])?\.result/;

// The problems of the Terraform configuration in `dir` ([] when none), and a one-line summary.
export async function terraformErrors(dir, { k8sDir = null } = {}) {
  const errors = [];
  const files = fs.readdirSync(dir).filter((f) => /\.tf$|\.hcl$|\.example$/.test(f)).sort();
  const parsed = [];
  for (const f of files) {
    try { parsed.push({ file: f, json: await parse(f, fs.readFileSync(path.join(dir, f), 'utf8')) }); } catch (e) { errors.push(`${f}: HCL syntax: ${String(e.message ?? e).trim()}`); }
  }
  const tf = parsed.filter((p) => p.file.endsWith('.tf'));
  if (!tf.length) errors.push(`${dir}: no *.tf files`);

  // --- declarations ------------------------------------------------------------------------------
  const decl = { variable: new Map(), local: new Map(), resource: new Map(), data: new Map(), output: new Map(), module: new Map() };
  const note = (map, key, file, what, value) => {
    if (map.has(key)) errors.push(`${file}: ${what} "${key}" is declared twice (also in ${map.get(key).file})`);
    else map.set(key, { file, value });
  };
  for (const { file, json } of tf) {
    for (const [n, b] of Object.entries(json.variable ?? {})) note(decl.variable, n, file, 'variable', b[0]);
    for (const blk of json.locals ?? []) for (const [n, v] of Object.entries(blk)) note(decl.local, n, file, 'local', v);
    for (const [t, byName] of Object.entries(json.resource ?? {})) for (const [n, b] of Object.entries(byName)) note(decl.resource, `${t}.${n}`, file, 'resource', b[0]);
    for (const [t, byName] of Object.entries(json.data ?? {})) for (const [n, b] of Object.entries(byName)) note(decl.data, `${t}.${n}`, file, 'data source', b[0]);
    for (const [n, b] of Object.entries(json.output ?? {})) note(decl.output, n, file, 'output', b[0]);
    for (const [n, b] of Object.entries(json.module ?? {})) note(decl.module, n, file, 'module', b[0]);
  }

  function* strings(x) {
    if (typeof x === 'string') yield x;
    else if (Array.isArray(x)) for (const v of x) yield* strings(v);
    else if (x && typeof x === 'object') for (const v of Object.values(x)) yield* strings(v);
  }
  // hcl2json writes every expression as "${...}": the bodies, nesting-aware.
  function* expressions(s) {
    for (let i = s.indexOf('${'); i !== -1; i = s.indexOf('${', i + 1)) {
      let depth = 0; let j = i + 2; let quote = false;
      for (; j < s.length; j++) {
        const c = s[j];
        if (c === '"' && s[j - 1] !== '\\') quote = !quote;
        if (quote) continue;
        if (c === '{') depth++;
        else if (c === '}') { if (depth === 0) break; depth--; }
      }
      yield s.slice(i + 2, j);
    }
  }

  // The keys a for_each resource iterates, when they are known statically (a local or a variable
  // default holding a map).
  function forEachKeys(block) {
    const fe = block?.for_each;
    const m = typeof fe === 'string' && fe.match(/^\$\{(local|var)\.([\w-]+)\}$/);
    if (!m) return null;
    const v = m[1] === 'local' ? decl.local.get(m[2])?.value : decl.variable.get(m[2])?.value?.default;
    return v && typeof v === 'object' && !Array.isArray(v) ? new Set(Object.keys(v)) : null;
  }

  // --- references ---------------------------------------------------------------------------------
  const providers = new Set(['azurerm', 'random']);
  for (const { file, json } of tf) {
    for (const s of strings(json)) {
      for (const raw of expressions(s)) {
        // References inside quoted strings of an expression still count ("${x}" nested), so scan the
        // text; keys in ["..."] are read before strings are blanked.
        for (const m of raw.matchAll(/(?<![\w.])var\.([A-Za-z_][\w-]*)/g)) if (!decl.variable.has(m[1])) errors.push(`${file}: var.${m[1]} is not declared`);
        for (const m of raw.matchAll(/(?<![\w.])local\.([A-Za-z_][\w-]*)/g)) if (!decl.local.has(m[1])) errors.push(`${file}: local.${m[1]} is not declared`);
        for (const m of raw.matchAll(/(?<![\w.])data\.([A-Za-z][\w]*)\.([A-Za-z_][\w-]*)/g)) if (!decl.data.has(`${m[1]}.${m[2]}`)) errors.push(`${file}: data.${m[1]}.${m[2]} is not declared`);
        for (const m of raw.matchAll(/(?<![\w.])([a-z][a-z0-9]*)_([a-z0-9_]+)\.([A-Za-z_][\w-]*)(\["([^"]+)"\])?/g)) {
          if (!providers.has(m[1])) continue;
          const key = `${m[1]}_${m[2]}.${m[3]}`;
          const r = decl.resource.get(key);
          if (!r) { errors.push(`${file}: resource ${key} is not declared`); continue; }
          if (m[5] !== undefined) {
            const keys = forEachKeys(r.value);
            if (keys && !keys.has(m[5])) errors.push(`${file}: ${key}["${m[5]}"]: "${m[5]}" is not one of the keys it iterates (${[...keys].join(', ')})`);
          }
        }
      }
    }
  }

  // --- variables and outputs ------------------------------------------------------------------------
  for (const [n, { file, value }] of decl.variable) {
    if (!value.type) errors.push(`${file}: variable "${n}" has no type`);
    if (!value.description) errors.push(`${file}: variable "${n}" has no description`);
    if (!(value.validation ?? []).length && value.type !== '${bool}') errors.push(`${file}: variable "${n}" has no validation`);
  }
  for (const [n, { file, value }] of decl.output) {
    if (!('value' in value)) errors.push(`${file}: output "${n}" has no value`);
    if (!value.description) errors.push(`${file}: output "${n}" has no description`);
    const secretByName = /(password|_key$|connection_string|database_url|redis_url)/.test(n);
    const secretByValue = SECRET_ATTRIBUTES.test(JSON.stringify(value.value ?? ''));
    if ((secretByName || secretByValue) && value.sensitive !== true) errors.push(`${file}: output "${n}" carries a secret but is not sensitive = true`);
  }

  // --- terraform block, provider, backend -------------------------------------------------------------
  const terraformBlocks = tf.flatMap(({ json }) => json.terraform ?? []);
  const required = Object.assign({}, ...terraformBlocks.flatMap((t) => t.required_providers ?? []));
  const azurerm = required.azurerm;
  if (!azurerm) errors.push('terraform.required_providers has no azurerm');
  else {
    if (azurerm.source !== 'hashicorp/azurerm') errors.push(`required_providers.azurerm.source is ${azurerm.source}, not hashicorp/azurerm`);
    if (!/^(~>\s*4\.\d+(\.\d+)?|>=\s*4\.\d+(\.\d+)?,\s*<\s*5\.0(\.0)?)$/.test(azurerm.version ?? '')) errors.push(`required_providers.azurerm.version "${azurerm.version}" does not pin major version 4 (~> 4.x)`);
  }
  for (const p of [...decl.resource.keys()].map((k) => k.split('_')[0])) {
    if (p !== 'terraform' && !required[p]) errors.push(`resources of provider ${p} are used but ${p} is not in required_providers`);
  }
  const azurermBlocks = tf.flatMap(({ json }) => json.provider?.azurerm ?? []);
  if (!azurermBlocks.some((b) => b.features)) errors.push('provider "azurerm" has no features {} block');
  if (!terraformBlocks.some((t) => t.backend && Object.keys(t.backend).length)) errors.push('no backend block: the state would stay on one machine');
  if (!terraformBlocks.some((t) => t.required_version)) errors.push('terraform.required_version is not set');

  // --- terraform.tfvars.example ---------------------------------------------------------------------------
  const example = parsed.find((p) => p.file === 'terraform.tfvars.example');
  if (!example) errors.push('terraform.tfvars.example is missing');
  else {
    for (const [k, v] of Object.entries(example.json)) {
      if (!decl.variable.has(k)) errors.push(`terraform.tfvars.example: ${k} is not a declared variable`);
      if (/password|secret|key$/.test(k) && v) errors.push(`terraform.tfvars.example: ${k} holds a value: secrets are not set in tfvars`);
      if (typeof v === 'string' && /(AccountKey|SharedAccessKey)=|[a-z]+:\/\/[^/\s:@]+:[^@\s/]+@/.test(v)) errors.push(`terraform.tfvars.example: ${k} looks like a real secret`);
    }
    for (const [n, { value }] of decl.variable) if (!('default' in value) && !(n in example.json)) errors.push(`terraform.tfvars.example: variable "${n}" has no default and is not set`);
  }

  // --- the seed's infrastructure ---------------------------------------------------------------------------
  const resourcesOf = (type) => [...decl.resource].filter(([k]) => k.startsWith(`${type}.`)).map(([k, v]) => ({ key: k, ...v.value }));
  const resolve = (x) => {
    // The value of a literal or of "${var.X}" (its default).
    const m = typeof x === 'string' && x.match(/^\$\{var\.([\w-]+)\}$/);
    return m ? decl.variable.get(m[1])?.value?.default : x;
  };
  const need = (cond, what) => { if (!cond) errors.push(`the seed's infrastructure: ${what}`); };
  need(resourcesOf('azurerm_resource_group').length === 1, 'one azurerm_resource_group');
  const acr = resourcesOf('azurerm_container_registry')[0];
  need(acr && resolve(acr.sku) === 'Basic', 'an azurerm_container_registry with sku Basic');
  const aks = resourcesOf('azurerm_kubernetes_cluster')[0];
  const pool = aks?.default_node_pool?.[0];
  need(pool && pool.auto_scaling_enabled === true && resolve(pool.min_count) === 1 && resolve(pool.max_count) === 4, 'an azurerm_kubernetes_cluster whose node pool autoscales from 1 to 4 nodes');
  need(resourcesOf('azurerm_role_assignment').some((r) => r.role_definition_name === 'AcrPull' && /kubelet_identity/.test(r.principal_id) && /azurerm_container_registry/.test(r.scope)), 'an AcrPull role assignment for the kubelet identity on the registry');
  const pg = resourcesOf('azurerm_postgresql_flexible_server')[0];
  const pgKeys = pg && forEachKeys(pg);
  const dbs = resourcesOf('azurerm_postgresql_flexible_server_database')[0];
  const dbNames = dbs && typeof dbs.for_each === 'string' ? Object.values(decl.local.get(dbs.for_each.match(/local\.([\w-]+)/)?.[1] ?? '')?.value ?? {}) : [];
  need(pgKeys?.size === 3, 'three azurerm_postgresql_flexible_server (for_each over three)');
  need(['auth_db', 'flags_db', 'targeting_db'].every((d) => dbNames.includes(d)), 'the databases auth_db, flags_db and targeting_db');
  const redis = resourcesOf('azurerm_redis_cache')[0];
  need(redis && redis.non_ssl_port_enabled === false && redis.minimum_tls_version === '1.2', 'an azurerm_redis_cache reachable over TLS only (non_ssl_port_enabled = false, TLS 1.2)');
  need(resourcesOf('azurerm_servicebus_namespace').length === 1, 'an azurerm_servicebus_namespace');
  const queue = resourcesOf('azurerm_servicebus_queue').find((q) => q.name === 'evaluation-events');
  need(queue && queue.max_delivery_count !== undefined && queue.dead_lettering_on_message_expiration === true, 'the queue evaluation-events with max_delivery_count and dead_lettering_on_message_expiration = true');
  const cosmos = resourcesOf('azurerm_cosmosdb_account')[0];
  need(cosmos && (cosmos.capabilities ?? []).some((c) => c.name === 'EnableTable'), 'an azurerm_cosmosdb_account with the EnableTable capability');
  const tables = resourcesOf('azurerm_cosmosdb_table')[0];
  const tableNames = tables && (forEachKeys(tables) ?? new Set([tables.name]));
  need(tableNames?.has('EvaluationEvents'), 'an azurerm_cosmosdb_table EvaluationEvents');

  // --- agreement with the Kubernetes tree ---------------------------------------------------------------
  if (k8sDir) {
    const docs = yamlFiles(k8sDir).flatMap((f) => loadDocs(f).map((d) => ({ f, o: d.object }))).filter((d) => d.o);
    for (const { f, o } of docs.filter((d) => d.f.endsWith('secret.template.yaml'))) {
      for (const v of Object.values(o.stringData ?? {})) {
        const name = String(v).match(/^\$\{([A-Z0-9_]+)\}$/)?.[1];
        if (name && !APPLICATION_SECRETS.has(name) && !decl.output.has(name.toLowerCase())) errors.push(`${f}: \${${name}} has no Terraform output ${name.toLowerCase()} (scripts/k8s-secrets.sh --from-terraform reads it from there)`);
      }
    }
    const project = decl.variable.get('project')?.value?.default;
    const environment = decl.variable.get('environment')?.value?.default;
    const registry = `acr${project}${environment}`.replace(/-/g, '');
    const images = docs.filter((d) => d.o.kind === 'Deployment').flatMap((d) => (d.o.spec?.template?.spec?.containers ?? []).map((c) => ({ f: d.f, image: c.image })));
    for (const { f, image } of images) {
      if (!String(image).startsWith(`${registry}.azurecr.io/togglemaster/`)) errors.push(`${f}: image ${image} is not in the registry Terraform makes (${registry}.azurecr.io/togglemaster/...)`);
    }
    const pgCidr = decl.variable.get('postgres_subnet_cidr')?.value?.default;
    const npCidrs = new Set();
    for (const { o } of docs.filter((d) => d.o.kind === 'NetworkPolicy')) {
      for (const r of o.spec?.egress ?? []) if ((r.ports ?? []).some((p) => p.port === 5432)) for (const peer of r.to ?? []) if (peer.ipBlock) npCidrs.add(peer.ipBlock.cidr);
    }
    if (!npCidrs.size) errors.push(`${k8sDir}: no NetworkPolicy allows PostgreSQL (5432)`);
    for (const c of npCidrs) if (c !== pgCidr) errors.push(`${k8sDir}: a NetworkPolicy allows PostgreSQL at ${c}, but postgres_subnet_cidr is ${pgCidr}`);
  }
  return { errors: [...new Set(errors)], summary: `${files.length} files, ${decl.resource.size} resources, ${decl.variable.size} variables, ${decl.output.size} outputs` };
}
