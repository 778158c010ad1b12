#!/usr/bin/env node
// The real OpenFeature JavaScript SDKs against a running ToggleMaster, through OFREP:
//   - @openfeature/server-sdk + @openfeature/ofrep-provider: one request per evaluation
//     (POST /ofrep/v1/evaluate/flags/{key});
//   - @openfeature/web-sdk + @openfeature/ofrep-web-provider: the bulk endpoint, polled with
//     If-None-Match (304 while nothing changed) and a change event after a flag changes.
// The flags are created here through flag-service and targeting-service's REST APIs.
//
//   TM_FLAG_URL=… TM_TARGETING_URL=… TM_EVALUATION_URL=… TM_API_KEY=… node sdk_test.mjs
//
// Prints one line per check and exits 1 if any failed (run by ctest: tests/e2e/openfeature_test.cpp).
import { OpenFeature as ServerOpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { OpenFeature as WebOpenFeature, ClientProviderEvents } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value.replace(/\/+$/, '');
};
const flagUrl = env('TM_FLAG_URL');
const targetingUrl = env('TM_TARGETING_URL');
const evaluationUrl = env('TM_EVALUATION_URL');
const apiKey = env('TM_API_KEY');

let failed = 0;
function check(name, ok, detail) {
  if (!ok) failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail === undefined ? '' : ` -- ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// Every HTTP exchange the providers make, to check the wire (ETag, If-None-Match, 304).
const exchanges = [];
function recordingFetch(via) {
  return async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const response = await fetch(request);
    exchanges.push({ via, method: request.method, url: request.url, ifNoneMatch: request.headers.get('if-none-match'), status: response.status, etag: response.headers.get('etag') });
    return response;
  };
}

// --- The flags: one of each type, with targeting by attributes and a split. ---
const run = Date.now().toString(36);
const name = (base) => `of-${base}-${run}`;
const flags = {
  boolean: name('beta-banner'),
  string: name('button-color'),
  number: name('page-size'),
  object: name('checkout-config'),
  disabled: name('old-theme'),
  missing: name('never-created'),
};

await api('POST', `${flagUrl}/flags`, { name: flags.boolean, is_enabled: true, default_variant: 'off' });
await api('POST', `${targetingUrl}/rules`, {
  flag_name: flags.boolean,
  rules: [{ name: 'pro plans', conditions: [{ attribute: 'plan', operator: 'eq', value: 'pro' }], serve: { variant: 'on' } }],
});
await api('POST', `${targetingUrl}/segments`, {
  name: name('iberia'),
  conditions: [{ attribute: 'country', operator: 'in', values: ['PT', 'ES'] }],
});
await api('POST', `${flagUrl}/flags`, {
  name: flags.string, is_enabled: true, type: 'string',
  variants: { blue: '#0000ff', red: '#ff0000', grey: '#888888' }, default_variant: 'blue', off_variant: 'grey',
});
await api('POST', `${targetingUrl}/rules`, {
  flag_name: flags.string,
  rules: [
    { name: 'iberia', conditions: [{ operator: 'in_segment', values: [name('iberia')] }], serve: { variant: 'red' } },
    { conditions: [{ attribute: 'app.version', operator: 'semver_gte', value: '2.0.0' }, { attribute: 'email', operator: 'matches', value: '@example\\.com$' }], serve: { variant: 'grey' } },
  ],
});
await api('POST', `${flagUrl}/flags`, {
  name: flags.number, is_enabled: true, type: 'number',
  variants: { small: 10, large: 100 }, default_variant: 'small', off_variant: 'small',
});
await api('POST', `${targetingUrl}/rules`, {
  flag_name: flags.number,
  rules: [{ serve: { split: [{ variant: 'large', weight: 5000 }, { variant: 'small', weight: 5000 }] } }],
});
await api('POST', `${flagUrl}/flags`, {
  name: flags.object, is_enabled: true, type: 'object',
  variants: { v1: { limit: 10, methods: ['card', 'pix'] }, none: {} }, default_variant: 'v1', off_variant: 'none',
});
await api('POST', `${flagUrl}/flags`, {
  name: flags.disabled, is_enabled: false, type: 'string',
  variants: { dark: 'dark', light: 'light' }, default_variant: 'dark', off_variant: 'light',
});

// Changes reach evaluation by push; wait until the last one is served.
async function served(flag, context) {
  const res = await fetch(`${evaluationUrl}/ofrep/v1/evaluate/flags/${flag}`, {
    method: 'POST', headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ context }),
  });
  return { status: res.status, body: await res.json() };
}
async function until(what, test) {
  for (let i = 0; i < 100; i++) {
    if (await test()) return true;
    await sleep(100);
  }
  check(`${what} (waited 10 s)`, false);
  return false;
}
await until('the flags reached evaluation-service', async () => (await served(flags.disabled, { targetingKey: 'u' })).status === 200);

// --- Server SDK: one OFREP request per evaluation. ---
const serverProvider = new OFREPProvider({ baseUrl: evaluationUrl, headers: { Authorization: `Bearer ${apiKey}` }, fetchImplementation: recordingFetch('server') });
await ServerOpenFeature.setProviderAndWait('toggle', serverProvider);
const server = ServerOpenFeature.getClient('toggle');

let d = await server.getBooleanDetails(flags.boolean, false, { targetingKey: 'user-1', plan: 'pro' });
check('boolean: a matching rule serves on', d.value === true && d.variant === 'on' && d.reason === 'TARGETING_MATCH' && !d.errorCode, d);
d = await server.getBooleanDetails(flags.boolean, true, { targetingKey: 'user-1', plan: 'free' });
check('boolean: no rule matches -> default variant off', d.value === false && d.variant === 'off' && d.reason === 'DEFAULT', d);

d = await server.getStringDetails(flags.string, 'none', { targetingKey: 'user-2', country: 'PT' });
check('string: in_segment rule serves red', d.value === '#ff0000' && d.variant === 'red' && d.reason === 'TARGETING_MATCH', d);
d = await server.getStringDetails(flags.string, 'none', { targetingKey: 'user-2', country: 'BR', app: { version: '2.1.0' }, email: 'ana@example.com' });
check('string: semver + regex rule serves grey', d.value === '#888888' && d.variant === 'grey', d);
d = await server.getStringDetails(flags.string, 'none', { targetingKey: 'user-2', country: 'BR', app: { version: '1.9.9' }, email: 'ana@example.com' });
check('string: nothing matches -> blue, DEFAULT', d.value === '#0000ff' && d.reason === 'DEFAULT', d);

const counts = { large: 0, small: 0 };
let stable = true;
for (let i = 0; i < 200; i++) {
  const a = await server.getNumberDetails(flags.number, -1, { targetingKey: `split-user-${i}` });
  const b = await server.getNumberDetails(flags.number, -1, { targetingKey: `split-user-${i}` });
  if (a.reason !== 'SPLIT' || a.value !== (a.variant === 'large' ? 100 : 10) || a.variant !== b.variant) stable = false;
  if (a.variant in counts) counts[a.variant]++;
}
check('number: a 50/50 split serves both variants, reason SPLIT, the same to the same user', stable && counts.large > 60 && counts.small > 60, counts);
d = await server.getNumberDetails(flags.number, -1, { plan: 'pro' });
check('number: a split without targetingKey -> TARGETING_KEY_MISSING, the code default', d.errorCode === 'TARGETING_KEY_MISSING' && d.value === -1 && d.reason === 'ERROR', d);

d = await server.getObjectDetails(flags.object, {}, { targetingKey: 'user-3' });
check('object: no targeting -> STATIC, the default variant', d.reason === 'STATIC' && d.variant === 'v1' && JSON.stringify(d.value) === '{"limit":10,"methods":["card","pix"]}', d);

d = await server.getStringDetails(flags.disabled, 'code-default', { targetingKey: 'user-4' });
check('disabled: the off variant, reason DISABLED', d.value === 'light' && d.variant === 'light' && d.reason === 'DISABLED', d);

d = await server.getBooleanDetails(flags.missing, true, { targetingKey: 'user-5' });
check('not found: FLAG_NOT_FOUND, the code default', d.errorCode === 'FLAG_NOT_FOUND' && d.value === true && d.reason === 'ERROR', d);

d = await server.getNumberDetails(flags.string, 0, { targetingKey: 'user-6', country: 'PT' });
check('a string flag read as a number: TYPE_MISMATCH (detected by the SDK)', d.errorCode === 'TYPE_MISMATCH' && d.value === 0, d);

const single = exchanges.find((x) => x.via === 'server');
check('server: POST {base}/ofrep/v1/evaluate/flags/{key}', single && single.method === 'POST' && single.url.startsWith(`${evaluationUrl}/ofrep/v1/evaluate/flags/`), single);
await ServerOpenFeature.close();

// --- Web SDK: the bulk endpoint, polled; 304 while unchanged; a change event after a change. ---
const webProvider = new OFREPWebProvider({
  baseUrl: evaluationUrl, headers: [['Authorization', `Bearer ${apiKey}`]], fetchImplementation: recordingFetch('web'),
  pollInterval: 200, cacheMode: 'disabled', changeDetection: 'polling',
});
await WebOpenFeature.setContext('toggle-web', { targetingKey: 'user-7', plan: 'pro', country: 'ES' });
await WebOpenFeature.setProviderAndWait('toggle-web', webProvider);
const web = WebOpenFeature.getClient('toggle-web');
let changed = null;
web.addHandler(ClientProviderEvents.ConfigurationChanged, (details) => { changed = details; });

d = web.getBooleanDetails(flags.boolean, false);
check('bulk: boolean from the bulk answer', d.value === true && d.variant === 'on' && d.reason === 'TARGETING_MATCH', d);
d = web.getStringDetails(flags.string, 'none');
check('bulk: string from the bulk answer (segment)', d.value === '#ff0000' && d.variant === 'red', d);
d = web.getObjectDetails(flags.object, {});
check('bulk: object from the bulk answer', d.variant === 'v1' && d.value.limit === 10, d);
d = web.getStringDetails(flags.disabled, 'code-default');
check('bulk: disabled flag', d.value === 'light' && d.reason === 'DISABLED', d);
d = web.getBooleanDetails(flags.missing, true);
check('bulk: a flag the answer does not hold -> FLAG_NOT_FOUND', d.errorCode === 'FLAG_NOT_FOUND' && d.value === true, d);

await sleep(800);
const bulk = exchanges.filter((x) => x.via === 'web');
const etag = bulk[0] && bulk[0].etag;
check('bulk: POST {base}/ofrep/v1/evaluate/flags answered 200 with an ETag', bulk[0] && bulk[0].method === 'POST' && bulk[0].url === `${evaluationUrl}/ofrep/v1/evaluate/flags` && bulk[0].status === 200 && !!etag, bulk[0]);
check('bulk: polls send If-None-Match and unchanged flags answer 304', bulk.slice(1).some((x) => x.ifNoneMatch === etag && x.status === 304), bulk.map((x) => x.status));
check('bulk: no change event while nothing changed', changed === null, changed);

await api('PUT', `${flagUrl}/flags/${flags.string}`, { is_enabled: false });
await until('a change event after the flag was switched off', async () => changed !== null);
check('bulk: the change event names the changed flag', changed && (changed.flagsChanged || []).includes(flags.string), changed);
d = web.getStringDetails(flags.string, 'none');
check('bulk: after the change the kill switch serves the off variant', d.value === '#888888' && d.reason === 'DISABLED', d);
await WebOpenFeature.close();

console.log(failed ? `${failed} check(s) failed` : 'all checks passed');
process.exit(failed ? 1 : 0);
