#!/usr/bin/env node
// Checks the k6 load test without k6 (not installable here): the script is loaded by Node as an
// ES module with its k6 imports replaced by stubs, which catches syntax errors and anything that
// fails when k6 evaluates the script's init code (options). Then:
//  - the seed's scenarios: smoke (5 VUs, 30 s), rampup (to 200 VUs over 6 min), stress (300
//    VUs, 3 min), and their thresholds: p(95) < 2 s, failed < 5 %, /evaluate p(99) < 3 s,
//    evaluate errors < 10 %;
//  - BASE_URL and API_KEY parameterise it: setup() and one iteration run against a stub of
//    k6/http, and every request goes to BASE_URL with the seed's ingress prefixes, the
//    authenticated ones with API_KEY;
//  - SCENARIOS selects a subset, and an unknown name is refused.
//   node tests/deploy/k6-check.mjs SCRIPT
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const script = process.argv[2];
if (!script || process.argv.length !== 3) { console.error('usage: node k6-check.mjs SCRIPT'); process.exit(2); }

// The k6 modules the project's scripts may import, as stubs recording what the script does.
const calls = [];
function response(method, url, params) {
  const authorized = params?.headers?.Authorization;
  calls.push({ method, url, authorization: authorized, tags: params?.tags ?? {} });
  const status = method === 'POST' ? 201 : 200;
  return { status, body: '{}', json: (sel) => (sel === 'result' ? true : {}) };
}
globalThis.__k6 = {
  'k6/http': {
    default: {
      get: (url, params) => response('GET', url, params),
      post: (url, body, params) => { JSON.parse(body); return response('POST', url, params); },
    },
  },
  k6: { check: (v, checks) => Object.values(checks).every((f) => f(v)), sleep: () => {} },
  'k6/metrics': { Rate: class { add() {} }, Trend: class { add() {} }, Counter: class { add() {} } },
};

function stubbed(src) {
  let unknown = null;
  const out = src.replace(/^import\s+(.+?)\s+from\s+'([^']+)';?$/gm, (line, what, mod) => {
    if (!(mod in globalThis.__k6)) { unknown = mod; return line; }
    const m = what.match(/^(\w+)$/);
    return m ? `const ${m[1]} = globalThis.__k6['${mod}'].default;`
      : `const ${what.replace(/\s+as\s+/g, ': ')} = globalThis.__k6['${mod}'];`;
  });
  if (unknown) throw new Error(`imports ${unknown}, which this check does not know (only k6, k6/http, k6/metrics)`);
  if (/^\s*import\s/m.test(out)) throw new Error('an import this check cannot read');
  return out;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'k6-check-'));
let loads = 0;
async function load(env) {
  globalThis.__ENV = env;
  globalThis.__VU = 1;
  globalThis.__ITER = 0;
  const file = path.join(tmp, `script-${loads++}.mjs`);
  fs.writeFileSync(file, stubbed(fs.readFileSync(script, 'utf8')));
  return import(pathToFileURL(file).href);
}

const seconds = (d) => { const m = String(d).match(/^(\d+)(s|m)$/); return m ? Number(m[1]) * (m[2] === 'm' ? 60 : 1) : NaN; };
const problems = [];
const expect = (cond, what) => { if (!cond) problems.push(what); };
try {
  const base = 'http://ingress.example';
  const key = 'tm_key_check';
  const mod = await load({ BASE_URL: `${base}/`, API_KEY: key });
  const { options } = mod;
  const sc = options?.scenarios ?? {};
  expect(sc.smoke?.executor === 'constant-vus' && sc.smoke.vus === 5 && seconds(sc.smoke.duration) === 30, 'the smoke scenario is not 5 VUs for 30 s');
  const stages = sc.rampup?.stages ?? [];
  expect(Math.max(0, ...stages.map((s) => s.target)) === 200 && stages.reduce((t, s) => t + seconds(s.duration), 0) === 360, 'the rampup scenario does not reach 200 VUs over 6 minutes');
  expect(sc.stress?.vus === 300 && seconds(sc.stress.duration) === 180, 'the stress scenario is not 300 VUs for 3 minutes');
  const starts = Object.values(sc).map((s) => seconds(s.startTime ?? '0s'));
  expect(new Set(starts).size === starts.length, 'scenarios start together instead of one after the other');
  const th = options?.thresholds ?? {};
  expect((th.http_req_duration ?? []).includes('p(95)<2000'), 'no threshold p(95)<2000 on http_req_duration');
  expect((th.http_req_failed ?? []).includes('rate<0.05'), 'no threshold rate<0.05 on http_req_failed');
  expect((th['http_req_duration{endpoint:evaluate}'] ?? []).includes('p(99)<3000'), 'no threshold p(99)<3000 on /evaluate');
  expect(Object.entries(th).some(([k, v]) => /evaluate/.test(k) && v.includes('rate<0.10')), 'no threshold rate<0.10 on evaluate errors');
  // setup() and one iteration, against the stub.
  expect(typeof mod.setup === 'function' && typeof mod.default === 'function', 'no setup() or default function');
  const data = await mod.setup();
  for (let i = 0; i < 10; i++) { globalThis.__ITER = i; await mod.default(data); }
  expect(calls.length > 0, 'no HTTP request made');
  for (const c of calls) expect(c.url.startsWith(`${base}/`) && !c.url.startsWith(`${base}//`), `${c.method} ${c.url} does not go to BASE_URL`);
  const prefixes = new Set(calls.map((c) => new URL(c.url).pathname.split('/')[1]));
  for (const p of ['flags', 'targeting', 'evaluate']) expect(prefixes.has(p), `no request through the ingress route /${p}`);
  expect(calls.some((c) => new URL(c.url).pathname === '/evaluate/evaluate' && c.tags.endpoint === 'evaluate'), 'no GET /evaluate/evaluate tagged endpoint:evaluate (the /evaluate thresholds would see nothing)');
  for (const c of calls.filter((x) => x.method === 'POST')) expect(c.authorization === key, `${c.method} ${c.url} is not sent with API_KEY`);
  // SCENARIOS selects, and refuses an unknown name.
  const only = await load({ BASE_URL: base, API_KEY: key, SCENARIOS: 'smoke' });
  expect(JSON.stringify(Object.keys(only.options.scenarios)) === '["smoke"]', 'SCENARIOS=smoke does not select smoke alone');
  let refused = false;
  try { await load({ BASE_URL: base, API_KEY: key, SCENARIOS: 'smoke,typo' }); } catch { refused = true; }
  expect(refused, 'SCENARIOS with an unknown name is accepted');
} catch (e) {
  problems.push(`cannot load: ${e.message}`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
if (problems.length) {
  console.log(`FAIL ${script}`);
  for (const p of problems) console.log(`  - ${p}`);
  process.exit(1);
}
console.log(`ok   ${script} (${calls.length} requests in setup and 10 iterations)`);
