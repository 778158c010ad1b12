// A stand-in for the LocalStack image, used by scripts/docker-offline.sh ONLY where
// localstack/localstack cannot be pulled: SQS (local-aws-sqs) and DynamoDB (dynalite), the two npm
// emulators the tests use, in this one process behind LocalStack's single port, 4566.
//
// What it keeps of LocalStack, for docker-compose.yml: one endpoint for both services (a request
// goes to SQS or DynamoDB by its X-Amz-Target header, else by the service its SigV4 credential scope
// names), account 000000000000, queue URLs http://<the Host asked>/000000000000/<name>, the init
// hooks (every *.sh in /etc/localstack/init/ready.d run once both emulators listen, in name order)
// and the endpoints GET /_localstack/health and GET /_localstack/init/ready
// ({"completed": true, …} once the hooks have run). Nothing else: no other AWS service, no
// persistence (like LocalStack's community image), no signature checks.
import http from 'node:http';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { createSqsServer } from 'local-aws-sqs';
import dynalite from 'dynalite';

const gatewayPort = Number(process.env.GATEWAY_PORT ?? 4566);
const region = process.env.AWS_DEFAULT_REGION ?? process.env.AWS_REGION ?? 'us-east-1';
const initDir = process.env.INIT_READY_DIR ?? '/etc/localstack/init/ready.d';
const account = '000000000000';  // LocalStack's default account id
const sqsPort = 4576;
const dynamodbPort = 4569;

function log(msg, fields = {}) {
  console.log(JSON.stringify({ time: new Date().toISOString(), service: 'localstack-standin', msg, ...fields }));
}

// As PID 1 in a container, Node has no default handler: without these, `docker stop` waits for
// its timeout and then kills.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));

await createSqsServer({
  port: sqsPort, hostname: '127.0.0.1', region, accountId: account,
  emulateQueueCreationLifecycle: false,  // a queue deleted and created again by an init hook works at once
});
await new Promise((resolve, reject) => {
  dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
    .on('error', reject)
    .listen(dynamodbPort, '127.0.0.1', resolve);
});

function backendPort(req) {
  const target = req.headers['x-amz-target'] ?? '';
  if (target.startsWith('AmazonSQS.')) return sqsPort;
  if (target.startsWith('DynamoDB_')) return dynamodbPort;
  // Query-protocol SQS requests (Action=… form bodies) carry no target: the SigV4 scope
  // (Credential=KEY/DATE/REGION/SERVICE/aws4_request) or the queue URL path names the service.
  const scope = /Credential=[^/,]+\/\d{8}\/[^/,]+\/([^/,]+)\/aws4_request/.exec(req.headers.authorization ?? '');
  if (scope?.[1] === 'sqs') return sqsPort;
  if (scope?.[1] === 'dynamodb') return dynamodbPort;
  if (new RegExp(`^/${account}/`).test(req.url)) return sqsPort;
  return null;
}

function replyJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const initScripts = [];
let initCompleted = false;

function forward(req, res, port) {
  const upstream = http.request(
    { host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      if (port !== sqsPort) {
        res.writeHead(answer.statusCode, answer.headers);
        answer.pipe(res);
        return;
      }
      // local-aws-sqs names queues by the address it listens on; answer with the one the client
      // asked for, as LocalStack does, so a returned queue URL works from where it was asked.
      const chunks = [];
      answer.on('data', (chunk) => chunks.push(chunk));
      answer.on('end', () => {
        const internal = `http://127.0.0.1:${sqsPort}/`;
        const body = Buffer.concat(chunks).toString('utf8')
          .replaceAll(internal, `http://${req.headers.host ?? `localhost:${gatewayPort}`}/`);
        const headers = { ...answer.headers, 'content-length': Buffer.byteLength(body) };
        delete headers['transfer-encoding'];
        res.writeHead(answer.statusCode, headers);
        res.end(body);
      });
    });
  upstream.on('error', (err) => replyJson(res, 502, { error: `emulator unreachable: ${err.message}` }));
  req.pipe(upstream);
}

const gateway = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/_localstack/health') {
    replyJson(res, 200, { services: { sqs: 'running', dynamodb: 'running' }, edition: 'standin', version: 'standin' });
    return;
  }
  if (req.method === 'GET' && url.pathname === '/_localstack/init/ready') {
    replyJson(res, 200, { completed: initCompleted, scripts: initScripts });
    return;
  }
  const port = backendPort(req);
  if (port === null) {
    replyJson(res, 400, { error: 'not an SQS or DynamoDB request (no X-Amz-Target, no SigV4 scope): this LocalStack stand-in serves only those two' });
    return;
  }
  forward(req, res, port);
});
await new Promise((resolve) => gateway.listen(gatewayPort, '0.0.0.0', resolve));
log('listening', { port: gatewayPort, sqs: sqsPort, dynamodb: dynamodbPort, region });

// LocalStack's READY-stage init hooks, one after another, as LocalStack runs them.
let names = [];
try {
  names = readdirSync(initDir).filter((name) => name.endsWith('.sh')).sort();
} catch {
  // no hook folder mounted: nothing to run
}
for (const name of names) {
  const script = { stage: 'READY', name, state: 'RUNNING' };
  initScripts.push(script);
  const status = await new Promise((resolve) => {
    spawn('bash', [path.join(initDir, name)], { stdio: 'inherit' })
      .on('exit', (code) => resolve(code))
      .on('error', () => resolve(-1));
  });
  script.state = status === 0 ? 'SUCCESSFUL' : 'ERROR';
  log('init script finished', { name, state: script.state });
}
initCompleted = true;
log('Ready.');
