// ToggleMaster load test (k6): the seed's three scenarios against a running platform.
//
//   k6 run -e BASE_URL=http://<ingress-ip> -e API_KEY=<key> load-test/k6-load-test.js
//
// Scenarios (the seed's table), run one after the other unless SCENARIOS names a subset:
//   smoke    5 VUs for 30 s                               basic validation at minimal load
//   rampup   0 -> 200 VUs over 6 min (up, hold, down)     watch the evaluation HPA scale out
//   stress   300 VUs for 3 min                            the peak
// Thresholds (the seed's success criteria; k6 exits non-zero when one fails):
//   p(95) of every request < 2 s, fewer than 5 % failed requests,
//   p(99) of /evaluate < 3 s, fewer than 10 % errors on /evaluate.
//
// Environment:
//   BASE_URL     the ingress (default http://localhost); routes get the seed's prefixes
//                /flags, /targeting, /evaluate. Without an ingress (Docker Compose, make run),
//                set FLAG_SERVICE_URL, TARGETING_SERVICE_URL and EVALUATION_SERVICE_URL instead
//                (e.g. http://localhost:8002, :8003, :8004).
//   API_KEY      a key valid for flag- and targeting-service (Authorization header)
//   FLAG_NAME    the flag evaluated (default k6-load-test; created with a 50 % rule if missing)
//   SCENARIOS    comma-separated subset, e.g. "smoke" or "smoke,stress" (default: all three)
//
// This file is also the k6 Job's script in Kubernetes (k8s/load-test/, a ConfigMap made from it);
// load-test/k6-load-test.js is a link to it. load-test/wrk-load-test.sh runs the same scenarios with wrk.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Rate } from 'k6/metrics';

const BASE_URL = (__ENV.BASE_URL || 'http://localhost').replace(/\/+$/, '');
const FLAGS = (__ENV.FLAG_SERVICE_URL || `${BASE_URL}/flags`).replace(/\/+$/, '');
const TARGETING = (__ENV.TARGETING_SERVICE_URL || `${BASE_URL}/targeting`).replace(/\/+$/, '');
const EVALUATE = (__ENV.EVALUATION_SERVICE_URL || `${BASE_URL}/evaluate`).replace(/\/+$/, '');
const API_KEY = __ENV.API_KEY || 'tm_key_service_internal_dev';
const FLAG_NAME = __ENV.FLAG_NAME || 'k6-load-test';

const evaluateErrors = new Rate('evaluate_errors');

// Each scenario, and how long it lasts, so that they run in sequence.
const ALL_SCENARIOS = {
  smoke: {
    duration: 30,
    spec: { executor: 'constant-vus', vus: 5, duration: '30s' },
  },
  rampup: {
    duration: 360,
    spec: {
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [
        { duration: '1m', target: 50 },
        { duration: '2m', target: 200 },
        { duration: '2m', target: 200 },
        { duration: '1m', target: 0 },
      ],
      gracefulRampDown: '10s',
    },
  },
  stress: {
    duration: 180,
    spec: { executor: 'constant-vus', vus: 300, duration: '3m' },
  },
};

function selectedScenarios() {
  const names = (__ENV.SCENARIOS || 'smoke,rampup,stress').split(',').map((s) => s.trim()).filter(Boolean);
  const scenarios = {};
  let start = 0;
  for (const name of names) {
    const s = ALL_SCENARIOS[name];
    if (!s) throw new Error(`unknown scenario "${name}" (known: ${Object.keys(ALL_SCENARIOS).join(', ')})`);
    scenarios[name] = { ...s.spec, startTime: `${start}s`, gracefulStop: '10s' };
    start += s.duration + 10; // the next one starts after this one's graceful stop
  }
  return scenarios;
}

export const options = {
  scenarios: selectedScenarios(),
  thresholds: {
    http_req_duration: ['p(95)<2000'],
    http_req_failed: ['rate<0.05'],
    'http_req_duration{endpoint:evaluate}': ['p(99)<3000'],
    evaluate_errors: ['rate<0.10'],
  },
  summaryTrendStats: ['avg', 'p(50)', 'p(95)', 'p(99)', 'max'],
};

const authorized = { headers: { Authorization: API_KEY, 'Content-Type': 'application/json' } };

// Creates the flag and a 50 % rule (409 "exists" is fine), then waits until /evaluate knows it.
export function setup() {
  const flag = http.post(`${FLAGS}/flags`, JSON.stringify({
    name: FLAG_NAME, description: 'k6 load test', is_enabled: true,
  }), authorized);
  if (flag.status !== 201 && flag.status !== 409) {
    throw new Error(`creating flag ${FLAG_NAME}: HTTP ${flag.status} ${flag.body}`);
  }
  const rule = http.post(`${TARGETING}/rules`, JSON.stringify({
    flag_name: FLAG_NAME, is_enabled: true, rules: { type: 'PERCENTAGE', value: 50 },
  }), authorized);
  if (rule.status !== 201 && rule.status !== 409) {
    throw new Error(`creating the rule of ${FLAG_NAME}: HTTP ${rule.status} ${rule.body}`);
  }
  for (let i = 0; i < 50; i++) {
    const r = http.get(`${EVALUATE}/evaluate?user_id=k6-setup&flag_name=${FLAG_NAME}`);
    if (r.status === 200) return { flag: FLAG_NAME };
    sleep(0.2);
  }
  throw new Error(`${EVALUATE}/evaluate never answered 200 for ${FLAG_NAME}`);
}

// One iteration: an evaluation for a new user (the hot path); one in ten also reads the flag
// through flag-service, as an SDK refreshing its configuration would.
export default function (data) {
  const user = `user-${__VU}-${__ITER}`;
  const r = http.get(`${EVALUATE}/evaluate?user_id=${user}&flag_name=${data.flag}`, {
    tags: { endpoint: 'evaluate' },
  });
  const ok = check(r, {
    'evaluate: 200': (res) => res.status === 200,
    'evaluate: has a boolean result': (res) => res.status === 200 && typeof res.json('result') === 'boolean',
  });
  evaluateErrors.add(!ok);
  if (__ITER % 10 === 0) {
    const f = http.get(`${FLAGS}/flags/${data.flag}`, { ...authorized, tags: { endpoint: 'flags' } });
    check(f, { 'flags: 200': (res) => res.status === 200 });
  }
  sleep(0.1);
}
