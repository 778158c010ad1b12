// An HTTP server that checks the AWS Signature Version 4 of every request the way AWS does, with
// the AWS SDK for JavaScript's own signer (@smithy/signature-v4 and @smithy/hash-node, pinned in
// tests/package.json), so that the project's signing is tested without AWS. The emulators we run
// (dynalite, local-aws-sqs) accept any signature, so the tests send their SQS and DynamoDB requests
// through this checker: a request whose signature is right is forwarded to the emulator of its
// credential scope's service and the emulator's answer is returned; a wrong one gets AWS's answer,
// 403 {"__type":"InvalidSignatureException"}, and is never forwarded.
//
// What is checked, as AWS does: the Authorization header's form; X-Amz-Date present and within 15
// minutes of now; the credential scope's date equals X-Amz-Date's; `host`, `content-type` and every
// `x-amz-*` header sent are signed (so is X-Amz-Security-Token, when sent); the access key is known;
// the signature equals the SDK's for the same method, path, query, signed headers and body.
//
//   import { createSigV4Checker } from './sigv4-checker.mjs';
//   const server = createSigV4Checker({ secrets: { AKID: 'secret' }, upstreams: { sqs: 'http://127.0.0.1:9325' } });
//   server.listen(0, '127.0.0.1');
//
// GET /sigv4-checker/stats answers {"verified":N,"verified_with_token":N,"rejected":N,"tokens":{...}}
// (unsigned): `tokens` counts the verified requests per session token, so that a test running
// alongside others can tell its own requests by a token of its own.
import http from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { SignatureV4 } = require('@smithy/signature-v4');
const { Hash } = require('@smithy/hash-node');

// The SDK's Node.js hash (OpenSSL through node:crypto), with the constructor the signer expects.
class Sha256 extends Hash {
  constructor(secret) {
    super('sha256', secret);
  }
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/, ]+)\/(\d{8})\/([^/, ]+)\/([^/, ]+)\/aws4_request, ?SignedHeaders=([a-z0-9;_-]+), ?Signature=([0-9a-f]{64})$/;
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

function parseAmzDate(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (!m) return null;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

function parseQuery(text) {
  const query = {};
  if (!text) return query;
  for (const pair of text.split('&')) {
    const eq = pair.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    if (key in query) query[key] = [].concat(query[key], value);
    else query[key] = value;
  }
  return query;
}

// Why the request's signature is not acceptable, or null when it is.
async function verify(req, body, secrets) {
  const auth = req.headers.authorization ?? '';
  const m = AUTHORIZATION.exec(auth);
  if (!m) return { code: 'IncompleteSignatureException', message: 'Authorization is not a well-formed AWS4-HMAC-SHA256 header' };
  const [, accessKeyId, scopeDate, region, service, signedList, signature] = m;
  const secret = secrets[accessKeyId];
  if (secret === undefined) return { code: 'UnrecognizedClientException', message: `unknown access key ${accessKeyId}` };
  const amzDate = req.headers['x-amz-date'];
  const when = parseAmzDate(amzDate);
  if (!when) return { code: 'IncompleteSignatureException', message: 'X-Amz-Date is missing or malformed' };
  if (Math.abs(Date.now() - when.getTime()) > MAX_CLOCK_SKEW_MS) return { code: 'InvalidSignatureException', message: 'Signature expired: X-Amz-Date is more than 15 minutes from now' };
  if (amzDate.slice(0, 8) !== scopeDate) return { code: 'InvalidSignatureException', message: 'the credential scope date is not the date of X-Amz-Date' };

  const signed = signedList.split(';');
  const mustBeSigned = Object.keys(req.headers).filter((h) => h === 'host' || h === 'content-type' || h.startsWith('x-amz-'));
  const unsigned = mustBeSigned.filter((h) => !signed.includes(h));
  if (unsigned.length) return { code: 'InvalidSignatureException', message: `headers sent but not signed: ${unsigned.join(', ')}` };
  const missing = signed.filter((h) => req.headers[h] === undefined);
  if (missing.length) return { code: 'InvalidSignatureException', message: `signed headers not sent: ${missing.join(', ')}` };

  const headers = {};
  for (const h of signed) headers[h] = req.headers[h];
  const sessionToken = req.headers['x-amz-security-token'];
  const [path, queryText] = req.url.split('?');
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: secret, sessionToken },
    region,
    service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const [hostname, port] = (req.headers.host ?? '').split(':');
  const expected = await signer.sign(
    { method: req.method, protocol: 'http:', hostname, port: port ? Number(port) : undefined, path, query: parseQuery(queryText), headers, body: body.toString('utf8') },
    { signingDate: when, signableHeaders: new Set(signed) },
  );
  const want = /Signature=([0-9a-f]{64})/.exec(expected.headers.authorization)[1];
  if (want !== signature) {
    return { code: 'InvalidSignatureException', message: 'The request signature we calculated does not match the signature you provided.' };
  }
  return null;
}

// Sends the request on to `upstream` (a base URL) and pipes the answer back.
function forward(req, body, upstream, res) {
  const target = new URL(upstream);
  const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
  const out = http.request(
    { hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', (e) => {
    res.writeHead(503, { 'Content-Type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify({ __type: 'ServiceUnavailable', message: `sigv4-checker: upstream ${upstream}: ${e.message}` }));
  });
  out.end(body);
}

// options.secrets: access key id -> secret; options.upstreams: signing service name -> base URL
// (a verified request for another service is answered 200 {}); options.log: called with one
// object per request.
export function createSigV4Checker({ secrets, upstreams = {}, log = () => {} }) {
  const stats = { verified: 0, verified_with_token: 0, rejected: 0, tokens: {} };
  return http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'GET' && req.url === '/sigv4-checker/stats') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(stats));
        return;
      }
      let problem;
      try {
        problem = await verify(req, body, secrets);
      } catch (e) {
        problem = { code: 'InvalidSignatureException', message: `could not check the signature: ${e.message}` };
      }
      const service = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
      log({ method: req.method, url: req.url, target: req.headers['x-amz-target'], service, ok: !problem, ...(problem ?? {}) });
      if (problem) {
        stats.rejected++;
        res.writeHead(403, { 'Content-Type': 'application/x-amz-json-1.0', 'x-amzn-ErrorType': problem.code });
        res.end(JSON.stringify({ __type: problem.code, message: problem.message }));
        return;
      }
      stats.verified++;
      const token = req.headers['x-amz-security-token'];
      if (token) {
        stats.verified_with_token++;
        stats.tokens[token] = (stats.tokens[token] ?? 0) + 1;
      }
      const upstream = upstreams[service];
      if (upstream) {
        forward(req, body, upstream, res);
      } else {
        res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
        res.end('{}');
      }
    });
  });
}
