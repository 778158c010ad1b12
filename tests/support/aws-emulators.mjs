#!/usr/bin/env node
// The AWS stand-ins the tests talk to, in one Node.js process, each on 127.0.0.1:
//   sqs       local-aws-sqs (the SQS JSON protocol, as current AWS SDKs speak it)
//   dynamodb  dynalite (DynamoDB on an in-memory LevelDB), tables ACTIVE at once
//   sigv4     sigv4-checker.mjs: checks each request's signature with the AWS SDK's signer and
//             forwards the good ones to the two above (by the credential scope's service)
//
//   node aws-emulators.mjs [--sqs PORT] [--dynamodb PORT] [--sigv4 PORT] [--only sqs,dynamodb,sigv4]
//                          [--access-key-id ID] [--secret SECRET] [--max-seconds N]
// PORT 0 (the default) picks a free port; a fixed port lets a test restart one emulator where it
// was. When everything listens, prints one JSON line: {"sqs":"http://127.0.0.1:P",...,"pid":N}.
// The checker accepts the key pair given (default: AWS's documentation example pair). Exits on
// SIGTERM/SIGINT, and by itself after --max-seconds (default 3600) so that nothing outlives a
// crashed test run.
import { createRequire } from 'node:module';
import { createSigV4Checker } from './sigv4-checker.mjs';

const require = createRequire(import.meta.url);

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const only = new Set(option('only', 'sqs,dynamodb,sigv4').split(','));
const accessKeyId = option('access-key-id', 'AKIDEXAMPLE');
const secret = option('secret', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY');
const maxSeconds = Number(option('max-seconds', '3600'));

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

const servers = [];
const endpoints = {};
try {
  if (only.has('sqs')) {
    const { createSqsServer } = require('local-aws-sqs');
    // Queues may be deleted and created again at once (tests), unlike on AWS.
    const server = await createSqsServer({ port: Number(option('sqs', '0')), hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
    servers.push(server);
    endpoints.sqs = `http://127.0.0.1:${server.address().port}`;
  }
  if (only.has('dynamodb')) {
    const dynalite = require('dynalite');
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    servers.push(server);
    endpoints.dynamodb = await listen(server, Number(option('dynamodb', '0')));
  }
  if (only.has('sigv4')) {
    const server = createSigV4Checker({
      secrets: { [accessKeyId]: secret },
      upstreams: { sqs: endpoints.sqs, dynamodb: endpoints.dynamodb },
      log: (entry) => { if (!entry.ok) console.error(JSON.stringify({ sigv4: 'rejected', ...entry })); },
    });
    servers.push(server);
    endpoints.sigv4 = await listen(server, Number(option('sigv4', '0')));
  }
} catch (e) {
  console.error(`aws-emulators: ${e.message}`);
  process.exit(1);
}

console.log(JSON.stringify({ ...endpoints, pid: process.pid }));

function stop() {
  for (const s of servers) s.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setTimeout(stop, maxSeconds * 1000);
