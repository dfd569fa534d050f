import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { createPinnedHttpsAgent, spkiPin } from '@airlock/shared';
import { fakeRelayCertificate } from '../test-support/fake-relay.js';
import { relayHttpsFetch } from './relay-http.js';

test("the caller's deadline holds while the pinned connection is still being made", async () => {
  // Accepts TCP and never answers the TLS handshake: the request waits for its socket.
  const held: Socket[] = [];
  const silent = createServer((s) => held.push(s));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const agent = createPinnedHttpsAgent({ pin: `sha256/${Buffer.alloc(32).toString('base64')}`, timeoutMs: 10_000 });
  const started = performance.now();
  try {
    await assert.rejects(
      relayHttpsFetch(`https://127.0.0.1:${(silent.address() as AddressInfo).port}/api/v1/vms`, {
        method: 'GET',
        headers: {},
        signal: AbortSignal.timeout(300),
        agent,
      }),
      (e: Error) => e.name === 'AbortError',
    );
    // Before, the request only failed when the connect gave up (10 s here).
    const waited = performance.now() - started;
    assert.ok(waited < 5_000, `rejected after ${waited.toFixed(0)} ms`);
  } finally {
    agent.destroy();
    for (const s of held) s.destroy();
    silent.close();
  }
});

test('an already aborted signal sends nothing', async () => {
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.destroy();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const agent = createPinnedHttpsAgent({ pin: `sha256/${Buffer.alloc(32).toString('base64')}` });
  try {
    await assert.rejects(
      relayHttpsFetch(`https://127.0.0.1:${(server.address() as AddressInfo).port}/x`, {
        method: 'GET',
        headers: {},
        signal: AbortSignal.abort(),
        agent,
      }),
      (e: Error) => e.name === 'AbortError',
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(connections, 0);
  } finally {
    agent.destroy();
    server.close();
  }
});

/**
 * An HTTPS server that answers the first request on each connection and drops the connection at
 * the second, unanswered: what a client sees when the relay closes a kept-alive connection just as
 * a request goes out on it.
 */
async function dropsSecondRequest() {
  const cert = await fakeRelayCertificate();
  const perSocket = new WeakMap<object, number>();
  let requests = 0;
  let connections = 0;
  const server = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    requests++;
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    if (n === 2) return void req.socket.destroy();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"vms":[]}');
  });
  server.on('secureConnection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const agent = createPinnedHttpsAgent({ pin: spkiPin(cert.certPem) }, { keepAlive: true });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/vms`;
  const call = (method: 'GET' | 'POST') =>
    relayHttpsFetch(url, {
      method,
      headers: {},
      signal: AbortSignal.timeout(5_000),
      agent,
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
  return {
    call,
    counts: () => ({ requests, connections }),
    close: () => {
      agent.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

test('a GET that met a kept-alive connection closing under it is asked again on another connection', async () => {
  const relay = await dropsSecondRequest();
  try {
    assert.equal((await relay.call('GET')).status, 200);
    const again = await relay.call('GET');
    assert.equal(again.status, 200);
    assert.equal(again.body, '{"vms":[]}');
    assert.deepEqual(relay.counts(), { requests: 3, connections: 2 });
  } finally {
    relay.close();
  }
});

test('a POST in the same case is not sent again: the relay may have acted on it', async () => {
  const relay = await dropsSecondRequest();
  try {
    assert.equal((await relay.call('POST')).status, 200);
    await assert.rejects(relay.call('POST'), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
    assert.deepEqual(relay.counts(), { requests: 2, connections: 1 });
  } finally {
    relay.close();
  }
});
