// ToggleMaster's own rules for its Kubernetes tree (what the API schemas cannot say):
//  - every Deployment: 2+ replicas, startup/liveness (/health)/readiness (/ready) probes on a
//    declared port, CPU and memory requests and limits, the "restricted" Pod Security profile,
//    a pinned image tag, an emptyDir where it writes (DATA_DIR, /tmp), a grace period longer
//    than preStop + SHUTDOWN_TIMEOUT_MS (+ EVENT_FLUSH_ON_STOP_MS), a PodDisruptionBudget;
//  - every reference resolves: Service selectors and ports, Ingress backends, HPA/PDB/KEDA
//    targets, ServiceAccounts, ConfigMaps, Secret keys (from the secret templates), NetworkPolicy
//    selectors and namespaces;
//  - every URL in a pod's environment names a Service by its FQDN, in the namespace the FQDN
//    says, on a port that Service has;
//  - NetworkPolicies: default deny in every namespace, DNS allowed, and in-cluster traffic
//    allowed for exactly the arrows the environment's URLs and the Ingresses need — no more;
//  - no Secret value that looks real: Secrets are templates whose values are ${VARIABLES};
//  - every variable set is one the services read (README "Configuration").
// policyErrors(objects, templates, options) returns the problems, one string each.
import fs from 'node:fs';

// Services that the cluster provides, not this tree (the NGINX ingress controller).
const EXTERNAL_SERVICES = {
  'ingress-nginx-controller.ingress-nginx.svc.cluster.local': {
    namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' }, ports: { 80: 80, 443: 443 },
  },
};
const EXTERNAL_NAMESPACES = new Set(['ingress-nginx', 'kube-system']);
const INGRESS_CONTROLLER = { namespace: 'ingress-nginx', labels: { 'app.kubernetes.io/name': 'ingress-nginx' } };
const DNS = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, port: 53 };
// Variables of the cloud event pipeline (issue 7: CLOUD_PROVIDER=azure), read by evaluation- and
// analytics-service once it is merged; README's "Configuration" lists them from then on.
const PIPELINE_VARIABLES = ['CLOUD_PROVIDER', 'AZURE_SERVICEBUS_CONNECTION_STRING', 'AZURE_SERVICEBUS_QUEUE',
  'AZURE_COSMOS_CONNECTION_STRING', 'AZURE_COSMOS_TABLE'];
// The seed's routes through the ingress, one Ingress (and namespace) each.
const SEED_ROUTES = ['auth', 'flags', 'targeting', 'evaluate', 'analytics'];
const PLACEHOLDER = /^\$\{[A-Z][A-Z0-9_]*\}$/;
const REAL_LOOKING = [
  [/AccountKey=[A-Za-z0-9+/=]{16,}/, 'an account key'],
  [/SharedAccessKey=[A-Za-z0-9+/=]{16,}/, 'a Service Bus key'],
  [/tm_key_[0-9a-f]{64}/, 'an API key'],
  [/[a-z+]+:\/\/[^/\s:@]+:[^@\s/]+@/, 'a URL with a password'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a private key'],
];

const id = (o) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
const matches = (selector, labels) => !!selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

// Kubernetes quantities: "500m", "2", "128Mi", "1Gi", "1e3".
export function quantity(q) {
  const m = String(q).match(/^([0-9.]+(?:e[0-9]+)?)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/);
  if (!m) return NaN;
  const unit = { m: 1e-3, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] ?? 1;
  return Number(m[1]) * unit;
}

// The variables README's "Configuration" table documents.
export function documentedVariables(readme) {
  const text = fs.readFileSync(readme, 'utf8');
  return new Set([...text.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]));
}

export function policyErrors(objects, templates, { readme, expectKeda = false } = {}) {
  const errs = [];
  const err = (o, msg) => errs.push(`${id(o)}: ${msg}`);
  const all = [...objects];
  const of = (kind) => all.filter((o) => o.kind === kind);
  const inNs = (kind, ns) => of(kind).filter((o) => o.metadata?.namespace === ns);
  const find = (kind, ns, name) => all.find((o) => o.kind === kind && o.metadata?.namespace === ns && o.metadata?.name === name);
  const namespaces = new Set(of('Namespace').map((n) => n.metadata.name));
  const documented = readme ? new Set([...documentedVariables(readme), ...PIPELINE_VARIABLES]) : null;

  // --- Secrets: templates only, every value a placeholder --------------------------------------
  const secretKeys = new Map(); // "ns/name" -> Set(keys)
  for (const s of templates) {
    if (s.kind !== 'Secret') { err(s, 'a secret template must be a Secret'); continue; }
    if (s.data) err(s, 'a template uses stringData with ${VARIABLE} placeholders, not data');
    for (const [k, v] of Object.entries(s.stringData ?? {})) {
      if (!PLACEHOLDER.test(String(v))) err(s, `${k} is not a \${VARIABLE} placeholder: a template never holds a real value`);
    }
    if (!namespaces.has(s.metadata?.namespace)) err(s, `namespace ${s.metadata?.namespace} is not declared in the tree`);
    secretKeys.set(`${s.metadata?.namespace}/${s.metadata?.name}`, new Set(Object.keys(s.stringData ?? {})));
  }
  for (const s of of('Secret')) err(s, 'a Secret in the applied tree would overwrite the real one: keep it as a secret.template.yaml');
  for (const o of all) {
    const text = JSON.stringify(o);
    for (const [re, what] of REAL_LOOKING) if (re.test(text)) err(o, `holds what looks like ${what}: secrets belong in a Secret made from a template`);
  }

  // --- namespaces -------------------------------------------------------------------------------
  for (const o of all) {
    if (['Namespace'].includes(o.kind)) continue;
    const ns = o.metadata?.namespace;
    if (!ns) err(o, 'has no namespace (every object names its namespace explicitly)');
    else if (!namespaces.has(ns)) err(o, `namespace ${ns} is not declared in the tree`);
  }
  for (const n of of('Namespace')) {
    if (n.metadata?.labels?.['pod-security.kubernetes.io/enforce'] !== 'restricted') err(n, 'does not enforce the restricted Pod Security Standard (label pod-security.kubernetes.io/enforce: restricted)');
  }

  // --- workloads --------------------------------------------------------------------------------
  const workloads = [...of('Deployment'), ...of('Job')].map((w) => ({
    obj: w, ns: w.metadata?.namespace, pod: w.spec?.template?.spec ?? {}, labels: w.spec?.template?.metadata?.labels ?? {},
  }));
  const podsOf = (ns, selector) => workloads.filter((w) => w.ns === ns && matches(selector, w.labels));

  for (const w of workloads) {
    const o = w.obj; const pod = w.pod; const isDeployment = o.kind === 'Deployment';
    if (isDeployment) {
      if (!(o.spec?.replicas >= 2)) err(o, `replicas is ${o.spec?.replicas ?? 'unset (1)'}: at least 2, so one pod can go while the other serves`);
      if (!matches(o.spec?.selector?.matchLabels, w.labels) || !Object.keys(o.spec?.selector?.matchLabels ?? {}).length) err(o, 'spec.selector.matchLabels does not select the pod template\'s labels');
      if (!of('PodDisruptionBudget').some((p) => p.metadata?.namespace === w.ns && matches(p.spec?.selector?.matchLabels, w.labels))) err(o, 'no PodDisruptionBudget covers its pods');
    }
    // Pod-level security: the restricted profile.
    const psc = pod.securityContext ?? {};
    if (psc.runAsNonRoot !== true) err(o, 'pod securityContext.runAsNonRoot is not true');
    if (!(Number.isInteger(psc.runAsUser) && psc.runAsUser > 0)) err(o, 'pod securityContext.runAsUser is not a fixed non-root UID');
    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) err(o, 'uses the host\'s network, PID or IPC namespace');
    if (pod.automountServiceAccountToken !== false) err(o, 'automountServiceAccountToken is not false (no pod here talks to the Kubernetes API)');
    const saName = pod.serviceAccountName;
    const sa = saName && find('ServiceAccount', w.ns, saName);
    if (!saName) err(o, 'runs as the namespace\'s default ServiceAccount: give it its own');
    else if (!sa) err(o, `ServiceAccount ${saName} does not exist in ${w.ns}`);
    else if (sa.automountServiceAccountToken !== false) err(sa, 'automountServiceAccountToken is not false');
    const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
    for (const v of pod.volumes ?? []) {
      if (v.hostPath) err(o, `volume ${v.name} is a hostPath`);
      if (v.configMap && !find('ConfigMap', w.ns, v.configMap.name)) err(o, `volume ${v.name}: ConfigMap ${v.configMap.name} does not exist in ${w.ns}`);
      if (v.secret && !secretKeys.has(`${w.ns}/${v.secret.secretName}`)) err(o, `volume ${v.name}: Secret ${v.secret.secretName} has no template in ${w.ns}`);
    }
    for (const c of pod.containers ?? []) {
      const where = `container ${c.name}`;
      const csc = c.securityContext ?? {};
      if ((pod.securityContext?.seccompProfile?.type ?? csc.seccompProfile?.type) !== 'RuntimeDefault') err(o, `${where}: seccompProfile is not RuntimeDefault`);
      if (csc.allowPrivilegeEscalation !== false) err(o, `${where}: allowPrivilegeEscalation is not false`);
      if (csc.readOnlyRootFilesystem !== true) err(o, `${where}: readOnlyRootFilesystem is not true`);
      if (csc.privileged) err(o, `${where}: is privileged`);
      if (!(csc.capabilities?.drop ?? []).includes('ALL')) err(o, `${where}: capabilities.drop does not include ALL`);
      if ((csc.capabilities?.add ?? []).length) err(o, `${where}: adds capabilities`);
      if (csc.runAsUser === 0 || csc.runAsNonRoot === false) err(o, `${where}: runs as root`);
      // A pinned image: name:tag with a tag that is not "latest", or a digest.
      const image = c.image ?? '';
      const tag = image.includes('@') ? 'digest' : (image.match(/:([^/:]+)$/)?.[1] ?? '');
      if (!tag) err(o, `${where}: image ${image} has no tag (that means latest)`);
      else if (tag === 'latest') err(o, `${where}: image ${image} is not pinned (latest)`);
      // Requests and limits, requests within limits (ephemeral storage too: logs and emptyDirs).
      for (const r of ['cpu', 'memory', 'ephemeral-storage']) {
        const req = c.resources?.requests?.[r]; const lim = c.resources?.limits?.[r];
        if (req === undefined) err(o, `${where}: no ${r} request`);
        if (lim === undefined) err(o, `${where}: no ${r} limit`);
        if (req !== undefined && lim !== undefined && quantity(req) > quantity(lim)) err(o, `${where}: ${r} request ${req} is above its limit ${lim}`);
      }
      // The environment: ConfigMaps and Secrets exist, keys exist.
      const env = {};
      for (const e of c.envFrom ?? []) {
        if (e.configMapRef) {
          const cm = find('ConfigMap', w.ns, e.configMapRef.name);
          if (!cm) err(o, `${where}: ConfigMap ${e.configMapRef.name} does not exist in ${w.ns}`);
          else Object.assign(env, cm.data ?? {});
        }
        if (e.secretRef) {
          const keys = secretKeys.get(`${w.ns}/${e.secretRef.name}`);
          if (!keys) err(o, `${where}: Secret ${e.secretRef.name} has no template in ${w.ns}`);
          else for (const k of keys) env[k] = '<secret>';
        }
      }
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) {
          const { name, key } = e.valueFrom.secretKeyRef;
          const keys = secretKeys.get(`${w.ns}/${name}`);
          if (!keys) err(o, `${where}: ${e.name} reads Secret ${name}, which has no template in ${w.ns}`);
          else if (!keys.has(key)) err(o, `${where}: ${e.name} reads key ${key}, which Secret ${name} does not have`);
          env[e.name] = '<secret>';
        } else if (e.valueFrom?.configMapKeyRef) {
          const { name, key } = e.valueFrom.configMapKeyRef;
          const cm = find('ConfigMap', w.ns, name);
          if (!cm) err(o, `${where}: ${e.name} reads ConfigMap ${name}, which does not exist in ${w.ns}`);
          else if (!(key in (cm.data ?? {}))) err(o, `${where}: ${e.name} reads key ${key}, which ConfigMap ${name} does not have`);
          else env[e.name] = cm.data[key];
        } else env[e.name] = e.value ?? '';
      }
      w.env = { ...(w.env ?? {}), ...env };
      if (documented && isDeployment) {
        for (const k of Object.keys(env)) if (!documented.has(k)) err(o, `${where}: ${k} is not a variable the services read (README "Configuration")`);
      }
      // Where the process writes: DATA_DIR and /tmp on emptyDir volumes.
      const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath.replace(/\/+$/, ''), m]));
      for (const v of c.volumeMounts ?? []) if (!volumes.has(v.name)) err(o, `${where}: mounts volume ${v.name}, which the pod does not declare`);
      const writable = isDeployment ? [env.DATA_DIR, '/tmp'] : ['/tmp'];
      for (const dir of writable) {
        if (!dir) { err(o, `${where}: DATA_DIR is not set (the default ./data is inside the read-only image)`); continue; }
        const m = mounts.get(dir.replace(/\/+$/, ''));
        const vol = m && volumes.get(m.name);
        if (!vol?.emptyDir) err(o, `${where}: ${dir} is not an emptyDir mount (the root filesystem is read-only)`);
        else if (!vol.emptyDir.sizeLimit) err(o, `${where}: the emptyDir at ${dir} has no sizeLimit`);
      }
      const emptyDirs = (c.volumeMounts ?? []).map((m) => volumes.get(m.name)?.emptyDir?.sizeLimit).filter(Boolean).reduce((t, q) => t + quantity(q), 0);
      const storageLimit = c.resources?.limits?.['ephemeral-storage'];
      if (storageLimit && emptyDirs > quantity(storageLimit)) err(o, `${where}: its emptyDirs may hold ${emptyDirs / 2 ** 20} MiB, more than its ephemeral-storage limit ${storageLimit}: the kubelet would evict the pod first`);
      if (env.EVENT_SPOOL_MAX_BYTES && env.DATA_DIR) {
        const vol = volumes.get(mounts.get(env.DATA_DIR.replace(/\/+$/, ''))?.name ?? '');
        const limit = vol?.emptyDir?.sizeLimit ? quantity(vol.emptyDir.sizeLimit) : Infinity;
        if (!(Number(env.EVENT_SPOOL_MAX_BYTES) < limit)) err(o, `${where}: EVENT_SPOOL_MAX_BYTES ${env.EVENT_SPOOL_MAX_BYTES} does not fit the DATA_DIR volume (${vol?.emptyDir?.sizeLimit}): the kubelet would evict the pod before the spool is full`);
      }
      if (!isDeployment) continue;
      // Probes: startup, liveness on /health, readiness on /ready, on a declared port.
      const ports = c.ports ?? [];
      const portOk = (p) => ports.some((x) => x.name === p || x.containerPort === p);
      for (const [probe, path] of [['startupProbe', null], ['livenessProbe', '/health'], ['readinessProbe', '/ready']]) {
        const pr = c[probe];
        if (!pr) { err(o, `${where}: no ${probe}`); continue; }
        if (!pr.httpGet) { err(o, `${where}: ${probe} is not an HTTP check`); continue; }
        if (path && pr.httpGet.path !== path) err(o, `${where}: ${probe} checks ${pr.httpGet.path}, not ${path}`);
        if (!path && !['/health', '/ready'].includes(pr.httpGet.path)) err(o, `${where}: startupProbe checks ${pr.httpGet.path}, not /health or /ready`);
        if (!portOk(pr.httpGet.port)) err(o, `${where}: ${probe} port ${pr.httpGet.port} is not one of the container's ports`);
      }
      // Graceful termination: SIGKILL must not come before the process has drained.
      const preStopMs = (c.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
      const shutdownMs = Number(env.SHUTDOWN_TIMEOUT_MS ?? 10000);
      const flushMs = env.EVENT_FLUSH_ON_STOP_MS !== undefined || o.metadata?.name === 'evaluation-service' ? Number(env.EVENT_FLUSH_ON_STOP_MS ?? 5000) : 0;
      const graceMs = (pod.terminationGracePeriodSeconds ?? 30) * 1000;
      if (!(graceMs > preStopMs + shutdownMs + flushMs)) err(o, `terminationGracePeriodSeconds ${graceMs / 1000} s is not longer than preStop ${preStopMs / 1000} s + SHUTDOWN_TIMEOUT_MS ${shutdownMs / 1000} s${flushMs ? ` + EVENT_FLUSH_ON_STOP_MS ${flushMs / 1000} s` : ''}`);
    }
  }

  // --- Services, Ingresses, HPAs, PDBs, KEDA ------------------------------------------------------
  const servicePods = (svc) => podsOf(svc.metadata.namespace, svc.spec?.selector);
  const targetPort = (svc, port) => {
    // The container port a Service port leads to (a number), or null.
    const p = (svc.spec?.ports ?? []).find((x) => x.port === port || x.name === port);
    if (!p) return null;
    const tp = p.targetPort ?? p.port;
    for (const w of servicePods(svc)) for (const c of w.pod.containers ?? []) for (const cp of c.ports ?? []) {
      if (cp.name === tp || cp.containerPort === tp) return cp.containerPort;
    }
    return null;
  };
  for (const s of of('Service')) {
    if (!servicePods(s).length) err(s, `selector ${JSON.stringify(s.spec?.selector)} matches no pod in ${s.metadata.namespace}`);
    for (const p of s.spec?.ports ?? []) if (servicePods(s).length && targetPort(s, p.port) === null) err(s, `port ${p.port}: targetPort ${p.targetPort} is not a port of its pods`);
  }
  const ingressBackends = [];
  const routes = new Map();
  for (const ing of of('Ingress')) {
    if (ing.spec?.ingressClassName !== 'nginx') err(ing, 'ingressClassName is not nginx');
    for (const rule of ing.spec?.rules ?? []) for (const p of rule.http?.paths ?? []) {
      const b = p.backend?.service;
      const svc = b && find('Service', ing.metadata.namespace, b.name);
      if (!svc) { err(ing, `path ${p.path}: Service ${b?.name} does not exist in ${ing.metadata.namespace}`); continue; }
      const port = b.port?.name ?? b.port?.number;
      const cport = targetPort(svc, port);
      if (cport === null) err(ing, `path ${p.path}: Service ${b.name} has no port ${port}`);
      else ingressBackends.push({ svc, cport });
      const route = p.path.match(/^\/([a-z-]+)/)?.[1];
      if (route) routes.set(route, [...(routes.get(route) ?? []), id(ing)]);
      if (/[()$]/.test(p.path)) {
        if (p.pathType !== 'ImplementationSpecific') err(ing, `path ${p.path} is a regular expression: pathType must be ImplementationSpecific`);
        if (!ing.metadata?.annotations?.['nginx.ingress.kubernetes.io/rewrite-target']) err(ing, `path ${p.path} has no rewrite-target annotation: the service would see the prefix`);
      }
    }
  }
  if (of('Ingress').length) {
    for (const r of SEED_ROUTES) {
      const where = routes.get(r) ?? [];
      if (where.length !== 1) errs.push(`Ingress: the seed's route /${r} is served by ${where.length ? where.join(', ') : 'no Ingress'} (exactly one expected)`);
    }
  }
  const ingressesPerNs = new Map();
  for (const ing of of('Ingress')) ingressesPerNs.set(ing.metadata.namespace, (ingressesPerNs.get(ing.metadata.namespace) ?? 0) + 1);
  for (const [ns, n] of ingressesPerNs) if (n > 1) errs.push(`Ingress: ${n} in ${ns} (one per namespace)`);

  const scaleTarget = (o, ref) => {
    if (ref?.kind !== 'Deployment' && ref?.kind !== undefined) { err(o, `scales a ${ref?.kind}, not a Deployment`); return null; }
    const d = find('Deployment', o.metadata.namespace, ref?.name);
    if (!d) err(o, `target Deployment ${ref?.name} does not exist in ${o.metadata.namespace}`);
    return d;
  };
  const hpaTargets = new Set();
  for (const h of of('HorizontalPodAutoscaler')) {
    const d = scaleTarget(h, h.spec?.scaleTargetRef);
    if (d) hpaTargets.add(`${d.metadata.namespace}/${d.metadata.name}`);
    if (d && (h.spec?.metrics ?? []).some((m) => m.resource?.name === 'cpu' && m.resource?.target?.type === 'Utilization')) {
      for (const c of d.spec?.template?.spec?.containers ?? []) if (!c.resources?.requests?.cpu) err(h, `scales on CPU utilisation but container ${c.name} has no CPU request`);
    }
  }
  // The seed's HPAs: evaluation and analytics, 2-10 replicas at 70 % CPU (analytics may be KEDA's instead).
  for (const [ns, name] of [['togglemaster-evaluation', 'evaluation-service'], ['togglemaster-analytics', 'analytics-service']]) {
    if (!find('Deployment', ns, name)) continue;
    const h = of('HorizontalPodAutoscaler').find((x) => x.metadata.namespace === ns && x.spec?.scaleTargetRef?.name === name);
    const keda = of('ScaledObject').find((x) => x.metadata.namespace === ns && x.spec?.scaleTargetRef?.name === name);
    if (!h && !keda) { errs.push(`Deployment ${ns}/${name}: no HorizontalPodAutoscaler (the seed's 2-10 replicas at 70 % CPU)`); continue; }
    if (h) {
      const cpu = (h.spec?.metrics ?? []).find((m) => m.type === 'Resource' && m.resource?.name === 'cpu');
      if (h.spec?.minReplicas !== 2 || h.spec?.maxReplicas !== 10 || cpu?.resource?.target?.averageUtilization !== 70) err(h, 'is not the seed\'s 2-10 replicas at 70 % CPU');
    }
  }
  if (expectKeda && !of('ScaledObject').length) errs.push('ScaledObject: the KEDA component adds none');
  for (const p of of('PodDisruptionBudget')) if (!podsOf(p.metadata.namespace, p.spec?.selector?.matchLabels).length) err(p, 'selects no pod');
  for (const so of of('ScaledObject')) {
    const d = scaleTarget(so, so.spec?.scaleTargetRef);
    if (d && hpaTargets.has(`${d.metadata.namespace}/${d.metadata.name}`)) err(so, `Deployment ${d.metadata.name} also has a HorizontalPodAutoscaler: KEDA makes its own, two would fight`);
    for (const t of so.spec?.triggers ?? []) {
      const ref = t.authenticationRef?.name;
      if (ref && !find('TriggerAuthentication', so.metadata.namespace, ref)) err(so, `TriggerAuthentication ${ref} does not exist in ${so.metadata.namespace}`);
    }
  }
  for (const ta of of('TriggerAuthentication')) {
    for (const r of ta.spec?.secretTargetRef ?? []) {
      const keys = secretKeys.get(`${ta.metadata.namespace}/${r.name}`);
      if (!keys) err(ta, `Secret ${r.name} has no template in ${ta.metadata.namespace}`);
      else if (!keys.has(r.key)) err(ta, `Secret ${r.name} has no key ${r.key}`);
    }
  }

  // --- URLs in the environment: FQDNs of Services that exist --------------------------------
  const arrows = []; // required in-cluster traffic: { from: workload, to: {ns, labels} | workload, port }
  for (const w of workloads) {
    for (const [k, v] of Object.entries(w.env ?? {})) {
      if (!/^https?:\/\//.test(v)) continue;
      let u;
      try { u = new URL(v); } catch { err(w.obj, `${k}=${v} is not a URL`); continue; }
      const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
      const ext = EXTERNAL_SERVICES[u.hostname];
      if (ext) {
        if (!(port in ext.ports)) err(w.obj, `${k}=${v}: ${u.hostname} has no port ${port}`);
        else arrows.push({ from: w, to: { namespace: ext.namespace, labels: ext.labels }, port: ext.ports[port], why: k });
        continue;
      }
      const m = u.hostname.match(/^([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$/);
      if (!m) { err(w.obj, `${k}=${v}: not a Service FQDN (<service>.<namespace>.svc.cluster.local): a short name only resolves inside its own namespace`); continue; }
      const svc = find('Service', m[2], m[1]);
      if (!svc) { err(w.obj, `${k}=${v}: no Service ${m[1]} in namespace ${m[2]}`); continue; }
      const cport = targetPort(svc, port);
      if (cport === null) { err(w.obj, `${k}=${v}: Service ${m[2]}/${m[1]} has no port ${port}`); continue; }
      for (const target of servicePods(svc)) arrows.push({ from: w, to: target, port: cport, why: k });
    }
  }

  // --- NetworkPolicies ------------------------------------------------------------------------
  const policies = of('NetworkPolicy');
  for (const p of policies) {
    const ns = p.metadata.namespace;
    const sel = p.spec?.podSelector ?? {};
    if (sel.matchExpressions) err(p, 'podSelector.matchExpressions is not understood by this check: use matchLabels');
    if (sel.matchLabels && !podsOf(ns, sel.matchLabels).length) err(p, `podSelector ${JSON.stringify(sel.matchLabels)} matches no pod in ${ns}`);
    for (const dir of ['ingress', 'egress']) {
      for (const rule of p.spec?.[dir] ?? []) {
        for (const peer of rule[dir === 'ingress' ? 'from' : 'to'] ?? []) {
          if (peer.ipBlock) {
            if (dir === 'ingress') err(p, `an ingress rule from ${peer.ipBlock.cidr}: traffic comes through the ingress controller`);
            if (!(rule.ports ?? []).length) err(p, `egress to ${peer.ipBlock.cidr} on every port: name the port`);
            continue;
          }
          const nsName = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'];
          if (peer.namespaceSelector && (!nsName || Object.keys(peer.namespaceSelector).length !== 1 || Object.keys(peer.namespaceSelector.matchLabels).length !== 1)) err(p, 'a namespaceSelector must name one namespace (matchLabels kubernetes.io/metadata.name)');
          const peerNs = nsName ?? ns;
          if (!namespaces.has(peerNs) && !EXTERNAL_NAMESPACES.has(peerNs)) err(p, `peer namespace ${peerNs} is neither in the tree nor a known cluster namespace`);
          if (namespaces.has(peerNs) && peer.podSelector?.matchLabels && !podsOf(peerNs, peer.podSelector.matchLabels).length) err(p, `peer podSelector ${JSON.stringify(peer.podSelector.matchLabels)} matches no pod in ${peerNs}`);
          if (!peer.podSelector && !peer.ipBlock) err(p, `a peer allows every pod of ${peerNs}: name the pods`);
        }
      }
    }
  }
  const selects = (p, w) => p.metadata.namespace === w.ns && (Object.keys(p.spec?.podSelector?.matchLabels ?? {}).length === 0 ? !p.spec?.podSelector?.matchExpressions : matches(p.spec.podSelector.matchLabels, w.labels));
  const hasType = (p, t) => (p.spec?.policyTypes ?? ['Ingress', ...(p.spec?.egress ? ['Egress'] : [])]).includes(t);
  const peerMatches = (peer, selfNs, target) => {
    if (peer.ipBlock) return false;
    const ns = peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] ?? selfNs;
    return ns === target.namespace && matches(peer.podSelector?.matchLabels ?? {}, target.labels);
  };
  const portMatches = (rule, port, protocol = 'TCP') => !(rule.ports ?? []).length || rule.ports.some((x) => x.port === port && (x.protocol ?? 'TCP') === protocol);
  const egressAllows = (w, target, port, protocol) => policies.filter((p) => selects(p, w) && hasType(p, 'Egress'))
    .some((p) => (p.spec.egress ?? []).some((r) => portMatches(r, port, protocol) && (r.to ?? []).some((peer) => peerMatches(peer, w.ns, target))));
  const ingressAllows = (w, source, port) => policies.filter((p) => selects(p, w) && hasType(p, 'Ingress'))
    .some((p) => (p.spec.ingress ?? []).some((r) => portMatches(r, port) && (r.from ?? []).some((peer) => peerMatches(peer, w.ns, source))));
  const asTarget = (w) => ({ namespace: w.ns, labels: w.labels });
  const name = (w) => `${w.ns}/${w.obj.metadata.name}`;

  for (const ns of new Set([...namespaces])) {
    const deny = inNs('NetworkPolicy', ns).find((p) => Object.keys(p.spec?.podSelector ?? {}).length === 0 && hasType(p, 'Ingress') && hasType(p, 'Egress') && !(p.spec?.ingress ?? []).length && !(p.spec?.egress ?? []).length);
    if (!deny) errs.push(`Namespace ${ns}: no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules)`);
  }
  for (const w of workloads) {
    for (const proto of ['UDP', 'TCP']) if (!egressAllows(w, DNS, DNS.port, proto)) err(w.obj, `its pods cannot reach DNS (${proto} 53 to kube-dns in kube-system)`);
  }
  // Every arrow the environment needs is allowed on both ends.
  const required = new Set();
  for (const a of arrows) {
    const inTree = a.to.obj !== undefined;
    const target = inTree ? asTarget(a.to) : a.to;
    const label = `${name(a.from)} -> ${inTree ? name(a.to) : `${a.to.namespace}/${Object.values(a.to.labels).join(',')}`}:${a.port} (${a.why})`;
    if (!egressAllows(a.from, target, a.port)) errs.push(`NetworkPolicy: ${label} is not allowed out of ${a.from.ns}`);
    if (inTree) {
      required.add(`${name(a.from)}>${name(a.to)}:${a.port}`);
      if (!ingressAllows(a.to, asTarget(a.from), a.port)) errs.push(`NetworkPolicy: ${label} is not allowed into ${a.to.ns}`);
    }
  }
  // The ingress controller reaches exactly the Ingress backends.
  const backendKeys = new Set();
  for (const { svc, cport } of ingressBackends) for (const w of servicePods(svc)) {
    backendKeys.add(`${name(w)}:${cport}`);
    if (!ingressAllows(w, INGRESS_CONTROLLER, cport)) errs.push(`NetworkPolicy: the ingress controller cannot reach ${name(w)}:${cport} (the backend of an Ingress)`);
  }
  // And nothing else: every in-cluster allowance between workloads is an arrow the environment needs.
  for (const dst of workloads) {
    for (const p of policies.filter((x) => selects(x, dst) && hasType(x, 'Ingress'))) {
      for (const r of p.spec.ingress ?? []) {
        const ports = (r.ports ?? []).map((x) => x.port);
        for (const peer of r.from ?? []) {
          if (peerMatches(peer, dst.ns, INGRESS_CONTROLLER)) {
            for (const port of ports) if (!backendKeys.has(`${name(dst)}:${port}`)) err(p, `lets the ingress controller into ${name(dst)}:${port}, which no Ingress routes to`);
            continue;
          }
          for (const src of workloads.filter((s) => peerMatches(peer, dst.ns, asTarget(s)))) {
            for (const port of ports.length ? ports : ['any']) {
              if (!required.has(`${name(src)}>${name(dst)}:${port}`)) err(p, `allows ${name(src)} -> ${name(dst)}:${port}, but no URL in ${name(src)}'s environment needs it`);
            }
          }
        }
      }
    }
    for (const p of policies.filter((x) => selects(x, dst) && hasType(x, 'Egress'))) {
      for (const r of p.spec.egress ?? []) {
        const ports = (r.ports ?? []).map((x) => x.port);
        for (const peer of r.to ?? []) {
          for (const target of workloads.filter((t) => peerMatches(peer, dst.ns, asTarget(t)))) {
            for (const port of ports.length ? ports : ['any']) {
              if (!required.has(`${name(dst)}>${name(target)}:${port}`)) err(p, `allows ${name(dst)} -> ${name(target)}:${port}, but no URL in ${name(dst)}'s environment needs it`);
            }
          }
        }
      }
    }
  }
  return [...new Set(errs)];
}
