#!/usr/bin/env node
// Proves that every deployment check fails on a broken file, with a message that names the
// problem: each case breaks one thing in a copy of the real file (or uses a bad sample from
// samples/) and expects its check to report it. A check that passes everything would pass the
// real files too; this is what shows it does not.
//   node tests/deploy/selftest.mjs [FILTER]     (only the cases whose name contains FILTER)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { render } from './lib/kustomize-lite.mjs';
import { schemaErrors } from './lib/k8s-schema.mjs';
import { policyErrors } from './lib/k8s-policy.mjs';
import { loadDocs, yamlFiles } from './lib/yaml.mjs';
import { terraformErrors } from './lib/terraform.mjs';
import { workflowErrors } from './lib/workflows.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const filter = process.argv[2] ?? '';
const readme = path.join(repo, 'README.md');
let passed = 0; let failed = 0;
function report(name, ok, detail) {
  if (ok) { passed++; console.log(`ok   ${name}`); } else { failed++; console.log(`FAIL ${name}\n${detail}`); }
}
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-selftest-'));
process.on('exit', () => fs.rmSync(tmpRoot, { recursive: true, force: true }));

// --- Kubernetes: one mutation of the rendered tree per rule ------------------------------------
const tree = render(path.join(repo, 'k8s'));
const keda = render(path.join(repo, 'k8s/overlays/keda'));
const templates = yamlFiles(path.join(repo, 'k8s')).filter((f) => f.endsWith('secret.template.yaml'))
  .flatMap((f) => loadDocs(f).map((d) => d.object));
const allErrors = (objects, tpl) => [...objects.flatMap((o) => schemaErrors(o).map((e) => `${o.kind}/${o.metadata?.name}: ${e}`)), ...policyErrors(objects, tpl, { readme })];
{
  const base = allErrors(tree.objects, templates);
  report('k8s: the real tree passes (baseline of the mutations)', base.length === 0, base.join('\n'));
}
const get = (objs, kind, name, ns) => objs.find((o) => o.kind === kind && o.metadata.name === name && (!ns || o.metadata.namespace === ns));
const container = (objs, name) => get(objs, 'Deployment', name).spec.template.spec.containers[0];
const policy = (objs, ns, name) => get(objs, 'NetworkPolicy', name, ns);
const k8sCases = [
  ['no liveness probe', 'no livenessProbe', (o) => { delete container(o, 'evaluation-service').livenessProbe; }],
  ['readiness on /health', 'readinessProbe checks /health, not /ready', (o) => { container(o, 'flag-service').readinessProbe.httpGet.path = '/health'; }],
  ['no startup probe', 'no startupProbe', (o) => { delete container(o, 'auth-service').startupProbe; }],
  ['probe on an undeclared port', 'is not one of the container\'s ports', (o) => { container(o, 'auth-service').livenessProbe.httpGet.port = 9999; }],
  ['no memory limit', 'no memory limit', (o) => { delete container(o, 'analytics-service').resources.limits.memory; }],
  ['no ephemeral-storage limit', 'no ephemeral-storage limit', (o) => { delete container(o, 'flag-service').resources.limits['ephemeral-storage']; }],
  ['emptyDirs larger than the storage limit', 'more than its ephemeral-storage limit', (o) => { container(o, 'evaluation-service').resources.limits['ephemeral-storage'] = '512Mi'; }],
  ['no cpu request', 'no cpu request', (o) => { delete container(o, 'targeting-service').resources.requests.cpu; }],
  ['request above limit', 'is above its limit', (o) => { container(o, 'evaluation-service').resources.requests.cpu = '2'; }],
  ['image :latest', 'is not pinned (latest)', (o) => { container(o, 'flag-service').image = 'acrtogglemasterprod.azurecr.io/togglemaster/flag-service:latest'; }],
  ['image without tag', 'has no tag', (o) => { container(o, 'flag-service').image = 'acrtogglemasterprod.azurecr.io/togglemaster/flag-service'; }],
  ['runAsNonRoot off', 'runAsNonRoot is not true', (o) => { get(o, 'Deployment', 'auth-service').spec.template.spec.securityContext.runAsNonRoot = false; }],
  ['no fixed UID', 'not a fixed non-root UID', (o) => { delete get(o, 'Deployment', 'auth-service').spec.template.spec.securityContext.runAsUser; }],
  ['privilege escalation', 'allowPrivilegeEscalation is not false', (o) => { container(o, 'analytics-service').securityContext.allowPrivilegeEscalation = true; }],
  ['writable root filesystem', 'readOnlyRootFilesystem is not true', (o) => { container(o, 'analytics-service').securityContext.readOnlyRootFilesystem = false; }],
  ['capabilities kept', 'capabilities.drop does not include ALL', (o) => { container(o, 'analytics-service').securityContext.capabilities.drop = []; }],
  ['no seccomp', 'seccompProfile is not RuntimeDefault', (o) => { delete get(o, 'Deployment', 'auth-service').spec.template.spec.securityContext.seccompProfile; }],
  ['token mounted', 'automountServiceAccountToken is not false', (o) => { get(o, 'ServiceAccount', 'flag-service').automountServiceAccountToken = true; }],
  ['one replica', 'replicas is 1', (o) => { get(o, 'Deployment', 'targeting-service').spec.replicas = 1; }],
  ['grace period too short', 'is not longer than preStop', (o) => { get(o, 'Deployment', 'evaluation-service').spec.template.spec.terminationGracePeriodSeconds = 15; }],
  ['DATA_DIR not on an emptyDir', 'is not an emptyDir mount', (o) => { container(o, 'evaluation-service').volumeMounts = container(o, 'evaluation-service').volumeMounts.filter((m) => m.name !== 'data'); }],
  ['spool larger than its volume', 'does not fit the DATA_DIR volume', (o) => { get(o, 'ConfigMap', 'evaluation-service-config').data.EVENT_SPOOL_MAX_BYTES = '2147483648'; }],
  ['no PDB', 'no PodDisruptionBudget covers its pods', (o) => { o.splice(o.indexOf(get(o, 'PodDisruptionBudget', 'flag-service')), 1); }],
  ['Service selects nothing', 'matches no pod', (o) => { get(o, 'Service', 'auth-service').spec.selector = { 'app.kubernetes.io/name': 'auth-servce' }; }],
  ['Service to a missing port', 'is not a port of its pods', (o) => { get(o, 'Service', 'auth-service').spec.ports[0].targetPort = 'metrics'; }],
  ['Ingress to a missing Service', 'Service flag-svc does not exist', (o) => { get(o, 'Ingress', 'flag-service').spec.rules[0].http.paths[0].backend.service.name = 'flag-svc'; }],
  ['Ingress to a missing port', 'has no port', (o) => { get(o, 'Ingress', 'flag-service').spec.rules[0].http.paths[0].backend.service.port = { number: 80 }; }],
  ['seed route missing', 'the seed\'s route /analytics', (o) => { get(o, 'Ingress', 'analytics-service').spec.rules[0].http.paths[0].path = '/stats(/|$)(.*)'; }],
  ['regex path without rewrite', 'has no rewrite-target annotation', (o) => { delete get(o, 'Ingress', 'auth-service').metadata.annotations['nginx.ingress.kubernetes.io/rewrite-target']; }],
  ['HPA to a missing Deployment', 'target Deployment evaluation does not exist', (o) => { get(o, 'HorizontalPodAutoscaler', 'evaluation-service').spec.scaleTargetRef.name = 'evaluation'; }],
  ['HPA not the seed\'s', 'is not the seed\'s 2-10 replicas at 70 % CPU', (o) => { get(o, 'HorizontalPodAutoscaler', 'analytics-service').spec.maxReplicas = 4; }],
  ['PDB selects nothing', 'selects no pod', (o) => { get(o, 'PodDisruptionBudget', 'auth-service').spec.selector.matchLabels = { app: 'auth' }; }],
  ['policy selects nothing', 'matches no pod in togglemaster-flags', (o) => { policy(o, 'togglemaster-flags', 'flag-service-ingress').spec.podSelector.matchLabels = { 'app.kubernetes.io/name': 'flags' }; }],
  ['no default deny', 'no default-deny NetworkPolicy', (o) => { o.splice(o.indexOf(policy(o, 'togglemaster-targeting', 'default-deny')), 1); }],
  ['no DNS', 'cannot reach DNS', (o) => { o.splice(o.indexOf(policy(o, 'togglemaster-auth', 'allow-dns')), 1); }],
  ['arrow blocked on the way out', 'is not allowed out of togglemaster-flags', (o) => { policy(o, 'togglemaster-flags', 'flag-service-egress').spec.egress.splice(0, 1); }],
  ['arrow blocked on the way in', 'is not allowed into togglemaster-auth', (o) => { policy(o, 'togglemaster-auth', 'auth-service-ingress').spec.ingress[1].from.splice(0, 1); }],
  ['an arrow nobody needs', 'but no URL in togglemaster-evaluation/evaluation-service\'s environment needs it', (o) => {
    policy(o, 'togglemaster-auth', 'auth-service-ingress').spec.ingress[1].from.push({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'togglemaster-evaluation' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'evaluation-service' } } });
  }],
  ['ingress controller to a non-backend', 'which no Ingress routes to', (o) => { o.splice(o.indexOf(get(o, 'Ingress', 'analytics-service')), 1); }],
  ['egress on every port', 'on every port: name the port', (o) => { delete policy(o, 'togglemaster-auth', 'auth-service-egress').spec.egress[0].ports; }],
  ['short service name', 'not a Service FQDN', (o) => { get(o, 'ConfigMap', 'flag-service-config').data.AUTH_SERVICE_URL = 'http://auth-service:8001'; }],
  ['FQDN in the wrong namespace', 'no Service auth-service in namespace togglemaster-flags', (o) => { get(o, 'ConfigMap', 'flag-service-config').data.AUTH_SERVICE_URL = 'http://auth-service.togglemaster-flags.svc.cluster.local:8001'; }],
  ['FQDN on the wrong port', 'has no port 8002', (o) => { get(o, 'ConfigMap', 'flag-service-config').data.AUTH_SERVICE_URL = 'http://auth-service.togglemaster-auth.svc.cluster.local:8002'; }],
  ['missing ConfigMap', 'ConfigMap auth-config does not exist', (o) => { container(o, 'auth-service').envFrom[0].configMapRef.name = 'auth-config'; }],
  ['Secret key not in its template', 'which Secret auth-service-secrets does not have', (o) => { container(o, 'auth-service').env[0].valueFrom.secretKeyRef.key = 'DB_URL'; }],
  ['a variable no service reads', 'DATABASE_POOL is not a variable the services read', (o) => { get(o, 'ConfigMap', 'auth-service-config').data.DATABASE_POOL = '8'; }],
  ['a Secret in the tree', 'would overwrite the real one', (o) => { o.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'togglemaster-auth' }, stringData: { A: '${A}' } }); }],
  ['a key in a ConfigMap', 'looks like an account key', (o) => { get(o, 'ConfigMap', 'analytics-service-config').data.NOTE = 'AccountKey=Zm9vYmFyYmF6cXV4cXV1eGZvb2Jhcg=='; }],
  ['an undeclared namespace', 'namespace togglemaster-audit is not declared', (o) => { get(o, 'ConfigMap', 'auth-service-config').metadata.namespace = 'togglemaster-audit'; }],
  ['Pod Security not enforced', 'does not enforce the restricted Pod Security Standard', (o) => { delete get(o, 'Namespace', 'togglemaster-flags').metadata.labels['pod-security.kubernetes.io/enforce']; }],
  ['schema: wrong type', '/spec/replicas must be integer', (o) => { get(o, 'Deployment', 'auth-service').spec.replicas = 'two'; }],
  ['schema: misspelt field', 'readinesProbe: unknown field', (o) => { const c = container(o, 'auth-service'); c.readinesProbe = c.readinessProbe; }],
  ['schema: unknown kind', 'unknown apiVersion/kind', (o) => { get(o, 'PodDisruptionBudget', 'auth-service').apiVersion = 'policy/v2'; }],
];
for (const [name, expected, mutate] of k8sCases) {
  if (!`k8s: ${name}`.includes(filter)) continue;
  const objects = structuredClone(tree.objects);
  mutate(objects);
  const errs = allErrors(objects, templates);
  report(`k8s: ${name}`, errs.some((e) => e.includes(expected)), `  expected a problem containing "${expected}", got:\n${errs.map((e) => `    ${e}`).join('\n') || '    (none)'}`);
}
const templateCases = [
  ['template with a real value', 'is not a ${VARIABLE} placeholder', (t) => { t.find((x) => x.metadata.name === 'auth-service-secrets').stringData.MASTER_KEY = 'admin-secreto-123'; }],
  ['template missing', 'has no template in togglemaster-flags', (t) => { t.splice(t.findIndex((x) => x.metadata.name === 'flag-service-secrets'), 1); }],
];
for (const [name, expected, mutate] of templateCases) {
  if (!`k8s: ${name}`.includes(filter)) continue;
  const tpl = structuredClone(templates);
  mutate(tpl);
  const errs = allErrors(tree.objects, tpl);
  report(`k8s: ${name}`, errs.some((e) => e.includes(expected)), `  expected "${expected}", got:\n    ${errs.join('\n    ') || '(none)'}`);
}
const kedaCases = [
  ['KEDA: the real overlay passes', null, () => {}],
  ['KEDA: target missing', 'target Deployment analytics does not exist', (o) => { get(o, 'ScaledObject', 'analytics-service').spec.scaleTargetRef.name = 'analytics'; }],
  ['KEDA: HPA left in place', 'two would fight', (o) => { o.push(structuredClone(get(tree.objects, 'HorizontalPodAutoscaler', 'analytics-service'))); }],
  ['KEDA: missing TriggerAuthentication', 'TriggerAuthentication sb does not exist', (o) => { get(o, 'ScaledObject', 'analytics-service').spec.triggers[0].authenticationRef.name = 'sb'; }],
  ['KEDA: secret key missing', 'has no key conn', (o) => { get(o, 'TriggerAuthentication', 'analytics-servicebus').spec.secretTargetRef[0].key = 'conn'; }],
  ['KEDA: schema', '/spec/triggers[0]/metadata/messageCount must be a string', (o) => { get(o, 'ScaledObject', 'analytics-service').spec.triggers[0].metadata.messageCount = 1000; }],
];
for (const [name, expected, mutate] of kedaCases) {
  if (!`k8s: ${name}`.includes(filter)) continue;
  const objects = structuredClone(keda.objects);
  mutate(objects);
  const errs = allErrors(objects, templates);
  const ok = expected === null ? errs.length === 0 : errs.some((e) => e.includes(expected));
  report(`k8s: ${name}`, ok, `  expected ${expected === null ? 'no problem' : `"${expected}"`}, got:\n    ${errs.join('\n    ') || '(none)'}`);
}

// --- command-line checks on files ---------------------------------------------------------------
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: repo, ...opts });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
function expectRun(name, cmd, args, status, messages = [], opts = {}) {
  if (!name.includes(filter)) return;
  const r = run(cmd, args, opts);
  const missing = messages.filter((m) => !r.out.includes(m));
  report(name, r.status === status && !missing.length, `  exit ${r.status} (expected ${status})${missing.length ? `, missing: ${missing.map((m) => `"${m}"`).join(', ')}` : ''}\n${r.out.replace(/^/gm, '    ')}`);
}
const node = process.execPath;
const tool = (f) => path.join(here, f);

expectRun('k8s CLI: a Deployment without probes is reported', node, [tool('k8s-check.mjs'), path.join(here, 'samples/k8s/deployment-without-probes.yaml'), '--templates', path.join(here, 'samples/k8s')], 1,
  ['no livenessProbe', 'no readinessProbe', 'no startupProbe', 'no memory limit', 'runAsNonRoot is not true', 'readOnlyRootFilesystem is not true', 'is not pinned (latest)', 'matches no pod']);
{
  // The KEDA overlay lists k8s/'s resources again: one left out must be reported.
  const dir = path.join(tmpRoot, 'k8s-overlay');
  fs.mkdirSync(path.join(dir, 'overlays/keda'), { recursive: true });
  for (const e of fs.readdirSync(path.join(repo, 'k8s'))) if (e !== 'overlays') fs.symlinkSync(path.join(repo, 'k8s', e), path.join(dir, e));
  fs.writeFileSync(path.join(dir, 'overlays/keda/kustomization.yaml'), fs.readFileSync(path.join(repo, 'k8s/overlays/keda/kustomization.yaml'), 'utf8').replace('  - ../../load-test\n', ''));
  expectRun('k8s CLI: the KEDA overlay leaving out a folder of the platform', node, [tool('k8s-check.mjs'), path.join(dir, 'overlays/keda'), '--keda', '--same-as', path.join(dir)], 1,
    ['Job togglemaster-loadtest/k6-load-test of', 'is missing']);
}
expectRun('compose: the sample passes', node, [tool('compose-check.mjs'), path.join(here, 'samples/compose/good.yml')], 0);
expectRun('compose: every mistake of the bad sample is reported', node, [tool('compose-check.mjs'), path.join(here, 'samples/compose/bad.yml')], 1,
  ['"helthcheck"', 'ports/0', '"postgress" is not defined', '"redis" has no healthcheck', '"flagdata" is not declared', '"backend" is not declared', 'services.worker: needs an image or a build']);
{
  const file = path.join(tmpRoot, 'compose-required.yml');
  fs.writeFileSync(file, 'services:\n  app:\n    image: "example/app:${APP_TAG:?set APP_TAG}"\n');
  const env = { ...process.env }; delete env.APP_TAG;
  expectRun('compose: a required variable that is not set', node, [tool('compose-check.mjs'), file], 1, ['required variable APP_TAG is not set'], { env });
  fs.writeFileSync(path.join(tmpRoot, '.env'), 'APP_TAG=1.0\n');
  expectRun('compose: ... set in the .env next to the file', node, [tool('compose-check.mjs'), file], 0, [], { env });
}
expectRun('k6: the real script passes', node, [tool('k6-check.mjs'), path.join(repo, 'load-test/k6-load-test.js')], 0);
expectRun('k6: a syntax error is reported', node, [tool('k6-check.mjs'), path.join(here, 'samples/k6/syntax-error.js')], 1, ['cannot load']);
expectRun('k6: missing scenarios, thresholds and BASE_URL are reported', node, [tool('k6-check.mjs'), path.join(here, 'samples/k6/no-thresholds.js')], 1,
  ['rampup', 'stress', 'p(95)<2000', 'rate<0.05', 'does not go to BASE_URL']);

// --- Terraform: one mutation of a copy of terraform/ per rule -----------------------------------------
// A copy of a folder's files (not its subfolders: .terraform/ and the like stay behind).
function copyTree(from, name) {
  const to = path.join(tmpRoot, name);
  fs.mkdirSync(to);
  for (const e of fs.readdirSync(from, { withFileTypes: true })) if (e.isFile()) fs.copyFileSync(path.join(from, e.name), path.join(to, e.name));
  return to;
}
const tfCases = [
  ['the real configuration passes', null, () => {}],
  ['variable without description', 'variable "aks_node_max_count" has no description', (d) => edit(d, 'variables.tf', /(variable "aks_node_max_count" \{\n  type        = number\n)  description = .*\n/, '$1')],
  ['undeclared variable', 'var.redis_size is not declared', (d) => edit(d, 'redis.tf', 'var.redis_capacity', 'var.redis_size')],
  ['undeclared resource', 'resource azurerm_subnet.nodes is not declared', (d) => edit(d, 'aks.tf', 'azurerm_subnet.aks.id\n    auto', 'azurerm_subnet.nodes.id\n    auto')],
  ['key outside the for_each map', '"audit" is not one of the keys', (d) => edit(d, 'outputs.tf', 'azurerm_postgresql_flexible_server.main["auth"].fqdn', 'azurerm_postgresql_flexible_server.main["audit"].fqdn')],
  ['azurerm 3.x', 'does not pin major version 4', (d) => edit(d, 'versions.tf', '"~> 4.0"', '"~> 3.100"')],
  ['secret output not sensitive', 'output "redis_url" carries a secret', (d) => edit(d, 'outputs.tf', '  sensitive   = true\n}\n\noutput "servicebus_queue_name"', '}\n\noutput "servicebus_queue_name"')],
  ['no features block', 'has no features {} block', (d) => edit(d, 'providers.tf', '  features {}\n', '')],
  ['no backend', 'no backend block', (d) => edit(d, 'versions.tf', '  backend "azurerm" {}\n', '')],
  ['HCL syntax error', 'HCL syntax', (d) => edit(d, 'redis.tf', 'capacity             = var.redis_capacity', 'capacity = = var.redis_capacity')],
  ['tfvars example sets an unknown variable', 'redis_size is not a declared variable', (d) => edit(d, 'terraform.tfvars.example', 'redis_capacity = 0', 'redis_size = 0')],
  ['queue without dead-lettering', 'dead_lettering_on_message_expiration = true', (d) => edit(d, 'servicebus.tf', 'dead_lettering_on_message_expiration = true', 'dead_lettering_on_message_expiration = false')],
  ['Redis without TLS', 'reachable over TLS only', (d) => edit(d, 'redis.tf', 'non_ssl_port_enabled = false', 'non_ssl_port_enabled = true')],
  ['node pool not 1-4', 'autoscales from 1 to 4 nodes', (d) => edit(d, 'variables.tf', /(variable "aks_node_max_count" \{[\s\S]*?default     = )4/, '$110')],
  ['PostgreSQL subnet differs from the NetworkPolicies', 'but postgres_subnet_cidr is 10.42.9.0/24', (d) => edit(d, 'variables.tf', '"10.42.2.0/24"', '"10.42.9.0/24"')],
  ['registry differs from the images', 'is not in the registry Terraform makes (acrtogglemasterstaging', (d) => edit(d, 'variables.tf', 'default     = "prod"', 'default     = "staging"')],
  ['a template variable with no output', 'has no Terraform output cosmos_connection_string', (d) => edit(d, 'outputs.tf', 'output "cosmos_connection_string"', 'output "cosmos_table_connection_string"')],
];
function edit(dir, file, from, to) {
  const p = path.join(dir, file);
  const before = fs.readFileSync(p, 'utf8');
  const after = before.replace(from, to);
  if (after === before) throw new Error(`the mutation did not apply to ${file}: ${from}`);
  fs.writeFileSync(p, after);
}
// In-process (the checks are lib/terraform.mjs's; deploy.terraform runs the command itself).
function expectProblems(label, problems, expected) {
  const ok = expected === null ? problems.length === 0 : problems.some((p) => p.includes(expected));
  report(label, ok, `  expected ${expected === null ? 'no problem' : `"${expected}"`}, got:\n    ${problems.join('\n    ') || '(none)'}`);
}
for (const [i, [name, expected, mutate]] of tfCases.entries()) {
  const label = `terraform: ${name}`;
  if (!label.includes(filter)) continue;
  const dir = copyTree(path.join(repo, 'terraform'), `tf-${i}`);
  try { mutate(dir); } catch (e) { report(label, false, `  ${e.message}`); continue; }
  expectProblems(label, (await terraformErrors(dir, { k8sDir: path.join(repo, 'k8s') })).errors, expected);
}
if ('terraform: fmt'.includes(filter) || filter === '') {
  const hasTerraform = spawnSync('terraform', ['version'], { encoding: 'utf8' }).status === 0;
  if (hasTerraform) {
    const dir = copyTree(path.join(repo, 'terraform'), 'tf-fmt');
    edit(dir, 'redis.tf', 'sku_name             = var.redis_sku_name', 'sku_name = var.redis_sku_name');
    expectRun('terraform: fmt -check reports an unformatted file', 'terraform', ['fmt', '-check', '-recursive', dir], 3, ['redis.tf']);
  } else console.log('skip terraform: fmt -check reports an unformatted file (no terraform binary)');
}

// --- workflows: one mutation of a copy of .github/workflows per rule -----------------------------------
const wfCases = [
  ['the real workflows pass', null, () => {}],
  ['cancelling a running deployment', 'cancel-in-progress must be false', (d) => edit(d, 'deploy.yml', 'cancel-in-progress: false', 'cancel-in-progress: true')],
  ['no OIDC token', 'permissions.id-token is not write', (d) => edit(d, 'deploy.yml', '  id-token: write', '  id-token: none')],
  ['a stored credential', 'uses a stored Azure credential', (d) => edit(d, 'deploy.yml', 'client-id: ${{ secrets.AZURE_CLIENT_ID }}\n          tenant-id', 'creds: ${{ secrets.AZURE_CREDENTIALS }}\n          tenant-id')],
  ['a service missing from the matrix', 'not the five services', (d) => edit(d, 'deploy.yml', 'service: [auth-service, flag-service, ', 'service: [auth-service, ')],
  ['not built per target', 'not built with --target', (d) => edit(d, 'deploy.yml', 'target: ${{ matrix.service }}', 'target: runtime')],
  ['a wrong namespace in the map', 'puts flag-service in togglemaster-flag, but', (d) => edit(d, 'deploy.yml', 'flag-service=togglemaster-flags', 'flag-service=togglemaster-flag')],
  ['deploying from any branch', 'not limited to main', (d) => edit(d, 'deploy.yml', '    branches: [main]\n', '')],
  ['no rollout status', 'does not wait for `kubectl rollout status`', (d) => edit(d, 'deploy.yml', 'rollout status "deployment/$service"', 'rollout history "deployment/$service"')],
  ['an unpinned action', 'actions/checkout@main is not pinned', (d) => edit(d, 'ci.yml', 'actions/checkout@v4', 'actions/checkout@main')],
  ['make test not on Debian 12', 'not run in a Debian 12 container', (d) => edit(d, 'ci.yml', 'image: debian:12\n    timeout-minutes', 'image: ubuntu:24.04\n    timeout-minutes')],
  ['no make test-deploy', 'no job runs `make test-deploy`', (d) => edit(d, 'ci.yml', 'run: make test-deploy', 'run: make build')],
  ['schema: a misspelt key', "Additional property 'step' is not allowed", (d) => edit(d, 'ci.yml', '    steps:\n', '    step:\n')],
];
for (const [i, [name, expected, mutate]] of wfCases.entries()) {
  const label = `workflows: ${name}`;
  if (!label.includes(filter)) continue;
  const dir = copyTree(path.join(repo, '.github/workflows'), `wf-${i}`);
  try { mutate(dir); } catch (e) { report(label, false, `  ${e.message}`); continue; }
  const problems = ['ci.yml', 'deploy.yml'].flatMap((f) => workflowErrors(path.join(dir, f), { k8sDir: path.join(repo, 'k8s') }).map((p) => `${f}: ${p}`));
  expectProblems(label, problems, expected);
}

// --- scripts/k8s-secrets.sh, with a kubectl that records what it is asked -------------------------------
if ('k8s-secrets'.includes(filter) || filter === '' || filter.startsWith('k8s-secrets')) {
  const bin = path.join(tmpRoot, 'bin');
  fs.mkdirSync(bin);
  const log = path.join(tmpRoot, 'kubectl.log');
  fs.writeFileSync(path.join(bin, 'kubectl'), `#!/usr/bin/env bash
# A stand-in for kubectl: records each call; "create secret ... -o yaml" prints the keys and
# values it was given, "apply -f -" records what it reads.
echo "kubectl $*" >>"${log}"
if [[ $1 == create ]]; then
  for a in "$@"; do [[ $a == --from-file=* ]] && { kv=\${a#--from-file=}; echo "data \${kv%%=*}=$(cat "\${kv#*=}")"; }; done
elif [[ $1 == apply && $2 == -f ]]; then
  sed 's/^/applied /' >>"${log}"
fi
exit 0
`, { mode: 0o755 });
  const env = {
    ...process.env, PATH: `${bin}:${process.env.PATH}`,
    AUTH_DATABASE_URL: 'postgres://u:p@auth/auth_db', FLAGS_DATABASE_URL: 'postgres://u:p@flags/flags_db', TARGETING_DATABASE_URL: 'postgres://u:p@t/targeting_db',
    MASTER_KEY: 'master with spaces;and=signs', SERVICE_API_KEY: 'tm_key_test', REDIS_URL: 'rediss://:k%2F@r:6380/0',
    SERVICEBUS_SEND_CONNECTION_STRING: 'Endpoint=sb://x/;SharedAccessKeyName=send;SharedAccessKey=s', SERVICEBUS_LISTEN_CONNECTION_STRING: 'Endpoint=sb://x/;SharedAccessKeyName=listen;SharedAccessKey=l',
    COSMOS_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;TableEndpoint=https://a.table.cosmos.azure.com:443/;',
  };
  delete env.LOADTEST_API_KEY; delete env.KEDA;
  fs.writeFileSync(log, '');
  const r = run('scripts/k8s-secrets.sh', [], { env });
  const calls = fs.readFileSync(log, 'utf8');
  const wanted = [
    'kubectl apply -k k8s/base',
    'kubectl create secret generic auth-service-secrets --namespace togglemaster-auth',
    'applied data MASTER_KEY=master with spaces;and=signs',
    'applied data AZURE_SERVICEBUS_CONNECTION_STRING=Endpoint=sb://x/;SharedAccessKeyName=send;SharedAccessKey=s',
    'applied data AZURE_SERVICEBUS_CONNECTION_STRING=Endpoint=sb://x/;SharedAccessKeyName=listen;SharedAccessKey=l',
    'applied data DATABASE_URL=postgres://u:p@flags/flags_db',
  ];
  const missing = wanted.filter((w) => !calls.includes(w));
  const leaked = calls.split('\n').filter((l) => l.startsWith('kubectl ') && l.includes('master with spaces'));
  report('k8s-secrets: every Secret made from its template, values off the command line', r.status === 0 && !missing.length && !leaked.length && /skipping togglemaster-loadtest/.test(r.out),
    `  exit ${r.status}; missing: ${JSON.stringify(missing)}; on a command line: ${JSON.stringify(leaked)}\n${r.out}\n${calls}`);
  fs.writeFileSync(log, '');
  const env2 = { ...env }; delete env2.REDIS_URL; delete env2.MASTER_KEY;
  const r2 = run('scripts/k8s-secrets.sh', [], { env: env2 });
  report('k8s-secrets: a missing variable stops everything and is named', r2.status === 1 && /togglemaster-evaluation\/evaluation-service-secrets: REDIS_URL/.test(r2.out) && /auth-service-secrets: MASTER_KEY/.test(r2.out) && fs.readFileSync(log, 'utf8') === '',
    `  exit ${r2.status}\n${r2.out}\n${fs.readFileSync(log, 'utf8')}`);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
