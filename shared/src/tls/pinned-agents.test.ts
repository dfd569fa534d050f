import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:https';
import { fetch } from 'undici';
import WebSocket from 'ws';
import { mintClientCertificate, mintServerCertificate, type MintedCertificate } from './mint.js';
import { spkiPin } from './pin.js';
import { TlsPinMismatchError } from './pinned-connect.js';
import { createPinnedDispatcher, createPinnedHttpsAgent, importUndici } from './pinned-agents.js';
import { startHttpsWsServer, within } from './testing/tls-servers.js';

let relayCert: MintedCertificate;
let relayPin: string;
let otherPin: string;
before(async () => {
  relayCert = await mintServerCertificate({ commonName: 'relay', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  relayPin = spkiPin(relayCert.certPem);
  otherPin = spkiPin((await mintServerCertificate({ commonName: 'relay' })).certPem);
});

async function relay(t: { after(fn: () => Promise<void>): void }) {
  const server = await startHttpsWsServer(relayCert);
  t.after(() => server.close());
  return server;
}

test('undici fetch through the pinned dispatcher reaches the relay and presents the client certificate', async (t) => {
  const server = await relay(t);
  const client = await mintClientCertificate({ commonName: 'alice', ttlSeconds: 600 });
  const dispatcher = createPinnedDispatcher({ pin: relayPin, clientCert: client });
  t.after(() => dispatcher.close());
  const first = await fetch(`https://127.0.0.1:${server.port}/a`, { dispatcher });
  assert.equal(first.status, 200);
  assert.equal(await first.text(), client.thumbprint);
  const second = await fetch(`https://localhost:${server.port}/b`, { dispatcher });
  assert.equal(await second.text(), client.thumbprint);
  assert.equal(server.requests, 2);
});

test('undici by import(): its fetch with a pinned dispatcher of the same copy presents the certificate', async (t) => {
  const server = await relay(t);
  const client = await mintClientCertificate({ commonName: 'bob', ttlSeconds: 600 });
  const undici = await importUndici();
  const dispatcher = createPinnedDispatcher({ pin: relayPin, clientCert: client }, {}, undici);
  t.after(() => dispatcher.close());
  assert.ok(dispatcher instanceof undici.Agent);
  const res = await undici.fetch(`https://127.0.0.1:${server.port}/c`, { dispatcher });
  assert.equal(await res.text(), client.thumbprint);
});

test('undici fetch through the pinned dispatcher fails on a pin mismatch and sends no request', async (t) => {
  const server = await relay(t);
  const dispatcher = createPinnedDispatcher({ pin: otherPin });
  t.after(() => dispatcher.close());
  const error = await fetch(`https://127.0.0.1:${server.port}/secret`, {
    dispatcher,
    method: 'POST',
    body: 'token',
  }).then(
    () => assert.fail('fetched from an unpinned server'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof TypeError);
  assert.ok(error.cause instanceof TlsPinMismatchError, `cause: ${String(error.cause)}`);
  const seen = await within(server.nextConnection(), 5000, 'server connection');
  await within(seen.closed, 5000, 'the client to hang up');
  assert.equal(seen.bytes, 0);
  assert.equal(server.requests, 0);
});

test('the pinned dispatcher refuses http:// rather than speaking TLS to it', async (t) => {
  const dispatcher = createPinnedDispatcher({ pin: relayPin });
  t.after(() => dispatcher.close());
  await assert.rejects(fetch('http://127.0.0.1:8080/', { dispatcher }), (e: unknown) =>
    /https only/.test(String((e as Error).cause)),
  );
});

test('a ws WebSocket through the pinned https.Agent opens, presents the client certificate and echoes', async (t) => {
  const server = await relay(t);
  const client = await mintClientCertificate({ commonName: 'alice', ttlSeconds: 600 });
  const agent = createPinnedHttpsAgent({ pin: relayPin, clientCert: client });
  t.after(() => agent.destroy());
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/ws`, { agent });
  t.after(() => ws.terminate());
  const [greeting] = (await within(once(ws, 'message'), 5000, 'greeting')) as [Buffer];
  assert.equal(greeting.toString(), `thumbprint:${client.thumbprint}`);
  ws.send('hello');
  const [echo] = (await within(once(ws, 'message'), 5000, 'echo')) as [Buffer];
  assert.equal(echo.toString(), 'hello');
});

test('a ws WebSocket through the pinned https.Agent fails on a pin mismatch before the upgrade request', async (t) => {
  const server = await relay(t);
  const agent = createPinnedHttpsAgent({ pin: otherPin });
  t.after(() => agent.destroy());
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/ws`, { agent, headers: { authorization: 'Bearer x' } });
  // ws emits 'close' right after 'error' (and events.once would reject on that 'error').
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const [error] = (await within(once(ws, 'error'), 5000, 'ws error')) as [Error];
  assert.ok(error instanceof TlsPinMismatchError, String(error));
  await within(closed, 5000, 'ws close');
  const seen = await within(server.nextConnection(), 5000, 'server connection');
  await within(seen.closed, 5000, 'the client to hang up');
  assert.equal(seen.bytes, 0);
  assert.equal(server.wsConnections, 0);
});

test('https.request through the pinned agent works, and rejects a mismatch with the typed error', async (t) => {
  const server = await relay(t);
  const good = createPinnedHttpsAgent({ pin: relayPin });
  const bad = createPinnedHttpsAgent({ pin: otherPin });
  t.after(() => {
    good.destroy();
    bad.destroy();
  });
  const get = (agent: typeof good) =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/', agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  assert.equal(await get(good), 'none');
  await assert.rejects(get(bad), TlsPinMismatchError);
  assert.equal(server.requests, 1);
});
