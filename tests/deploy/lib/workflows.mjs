// The checks of tests/deploy/workflow-check.mjs (see there), as a function.
import fs from 'node:fs';
import path from 'node:path';
import * as av from '@action-validator/core';
import YAML from 'yaml';
import { loadDocs, yamlFiles } from './yaml.mjs';

const SERVICES = ['auth-service', 'flag-service', 'targeting-service', 'evaluation-service', 'analytics-service'];

function leaves(errors, out = []) {
  for (const e of errors ?? []) {
    if (e.states?.length) for (const s of e.states) leaves(s.errors, out);
    else out.push(`${e.path ?? ''} ${e.code}${e.detail ? `: ${e.detail}` : e.title ? `: ${e.title}` : ''}${e.location ? ` (line ${e.location.line})` : ''}`);
  }
  return out;
}

const steps = (job) => job?.steps ?? [];
const runs = (job) => steps(job).map((s) => s.run ?? '').join('\n');
const triggers = (wf) => {
  const on = wf.on ?? wf[true]; // YAML 1.1 parsers read `on` as true; the yaml package does not
  if (typeof on === 'string') return { [on]: {} };
  if (Array.isArray(on)) return Object.fromEntries(on.map((t) => [t, {}]));
  return on ?? {};
};

function ciErrors(wf) {
  const errs = [];
  const on = triggers(wf);
  for (const t of ['push', 'pull_request']) if (!(t in on)) errs.push(`ci: not triggered on ${t}`);
  const jobs = Object.values(wf.jobs ?? {});
  const testJob = jobs.find((j) => /(^|\s)make test(\s|$)/m.test(runs(j)));
  if (!testJob) errs.push('ci: no job runs `make test`');
  else {
    const image = typeof testJob.container === 'string' ? testJob.container : testJob.container?.image;
    if (!/^debian:(12|bookworm)(\b|-)/.test(image ?? '')) errs.push(`ci: make test does not run in a Debian 12 container (container: ${image ?? 'none'})`);
  }
  if (!jobs.some((j) => /make test-deploy/.test(runs(j)))) errs.push('ci: no job runs `make test-deploy`');
  return errs;
}

function deployErrors(wf, k8sDir) {
  const errs = [];
  const on = triggers(wf);
  const pushMain = on.push && JSON.stringify(on.push.branches ?? []) === '["main"]';
  const runMain = on.workflow_run && JSON.stringify(on.workflow_run.branches ?? []) === '["main"]';
  if (!pushMain && !runMain) errs.push('deploy: not limited to main (push.branches or workflow_run.branches must be [main])');
  for (const t of Object.keys(on)) if (!['push', 'workflow_run', 'workflow_dispatch'].includes(t)) errs.push(`deploy: triggered by ${t}`);
  if (on.push && !pushMain) errs.push('deploy: push trigger is not limited to main');
  if (wf.permissions?.['id-token'] !== 'write') errs.push('deploy: permissions.id-token is not write (azure/login needs it for OIDC)');
  const c = wf.concurrency;
  if (!c?.group) errs.push('deploy: no concurrency group');
  else if (c['cancel-in-progress'] !== false) errs.push('deploy: concurrency.cancel-in-progress must be false (never cancel a rollout half-way)');
  const text = YAML.stringify(wf);
  if (/AZURE_CREDENTIALS|client-secret|creds:|password:/.test(text)) errs.push('deploy: uses a stored Azure credential; log in with OIDC only');
  const jobs = wf.jobs ?? {};
  const logins = Object.values(jobs).flatMap((j) => steps(j)).filter((s) => /^azure\/login@/.test(s.uses ?? ''));
  if (!logins.length) errs.push('deploy: no azure/login step');
  for (const l of logins) for (const k of ['client-id', 'tenant-id', 'subscription-id']) if (!l.with?.[k]) errs.push(`deploy: azure/login without ${k}`);
  const [buildName, build] = Object.entries(jobs).find(([, j]) => j.strategy?.matrix?.service) ?? [];
  if (!build) errs.push('deploy: no job with a build matrix over `service`');
  else {
    const services = build.strategy.matrix.service;
    if (JSON.stringify([...services].sort()) !== JSON.stringify([...SERVICES].sort())) errs.push(`deploy: the build matrix is ${JSON.stringify(services)}, not the five services`);
    const buildStep = steps(build).find((s) => /docker\/build-push-action@/.test(s.uses ?? '') || /docker (buildx )?build/.test(s.run ?? ''));
    const target = buildStep?.with?.target ?? (buildStep?.run ?? '').match(/--target[ =](\S+)/)?.[1];
    if (!buildStep) errs.push('deploy: the build job builds no image');
    else if (target !== '${{ matrix.service }}') errs.push('deploy: the image is not built with --target <service> (the Dockerfile\'s stage per service)');
    if (buildStep?.with && buildStep.with.push !== true) errs.push('deploy: the build does not push to the registry');
  }
  const deploy = Object.entries(jobs).find(([, j]) => /kubectl .*set image/.test(runs(j)));
  if (!deploy) errs.push('deploy: no job runs `kubectl set image`');
  else {
    const [name, job] = deploy;
    const needs = [job.needs ?? []].flat();
    if (buildName && !needs.includes(buildName)) errs.push(`deploy: job ${name} does not wait for ${buildName} (needs)`);
    if (!/kubectl .*rollout status/.test(runs(job))) errs.push(`deploy: job ${name} does not wait for \`kubectl rollout status\``);
  }
  // The service -> namespace map, against the Kubernetes tree.
  const pairs = Object.fromEntries(String(wf.env?.SERVICE_NAMESPACES ?? '').trim().split(/\s+/).filter(Boolean).map((p) => p.split('=')));
  if (!Object.keys(pairs).length) errs.push('deploy: no SERVICE_NAMESPACES map (service=namespace pairs)');
  for (const s of SERVICES) if (!pairs[s]) errs.push(`deploy: SERVICE_NAMESPACES has no namespace for ${s}`);
  if (k8sDir) {
    const where = {};
    for (const f of yamlFiles(k8sDir)) for (const d of loadDocs(f)) if (d.object?.kind === 'Deployment') where[d.object.metadata.name] = d.object.metadata.namespace;
    for (const [s, ns] of Object.entries(pairs)) {
      if (!where[s]) errs.push(`deploy: SERVICE_NAMESPACES names ${s}, which is no Deployment in ${k8sDir}`);
      else if (where[s] !== ns) errs.push(`deploy: SERVICE_NAMESPACES puts ${s} in ${ns}, but ${k8sDir} deploys it in ${where[s]}`);
    }
  }
  return errs;
}

// The problems of one workflow file ([] when none).
export function workflowErrors(file, { k8sDir = null } = {}) {
  const src = fs.readFileSync(file, 'utf8');
  const problems = [...new Set(leaves(av.validateWorkflow(src).errors))];
  let wf = null;
  try { wf = YAML.parse(src); } catch (e) { problems.push(`YAML: ${e.message}`); }
  if (!wf) return problems;
  for (const [name, job] of Object.entries(wf.jobs ?? {})) {
    for (const s of steps(job)) {
      if (s.uses && !s.uses.startsWith('./') && !/@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/.test(s.uses)) problems.push(`job ${name}: ${s.uses} is not pinned to a version (@vN or a commit)`);
    }
  }
  const base = path.basename(file);
  if (base === 'ci.yml') problems.push(...ciErrors(wf));
  if (base === 'deploy.yml') problems.push(...deployErrors(wf, k8sDir));
  return problems;
}
