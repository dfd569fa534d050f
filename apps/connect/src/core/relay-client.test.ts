import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { verifyLogin } from '@airlock/shared';
import { ConfigStore } from './config-store.js';
import { login } from './login.js';
import { airlockPaths } from './paths.js';
import { RelayClient } from './relay-client.js';
import { userKeyFromPrivateKey } from './user-key-store.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

async function tinyServer(handler: Handler): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const json = (res: ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

test('an unreachable relay is relay_unreachable, naming the URL', async () => {
  const { url, server } = await tinyServer(() => {});
  server.close();
  await once(server, 'close');
  const res = await new RelayClient({ relayUrl: url }).listVms();
  assert.ok(!res.ok);
  assert.equal(res.error.code, 'relay_unreachable');
  assert.match(res.error.message, new RegExp(`${url}.*connection refused`));
});

test('a relay that does not answer in time is relay_unreachable', async () => {
  const { url, server } = await tinyServer(() => {}); // never answers
  try {
    const res = await new RelayClient({ relayUrl: url, timeoutMs: 200 }).listVms();
    assert.ok(!res.ok);
    assert.equal(res.error.code, 'relay_unreachable');
    assert.match(res.error.message, /no answer/);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('relay error bodies map to typed errors; malformed bodies are bad_response', async () => {
  const { url, server } = await tinyServer((req, body, res) => {
    const auth = req.headers.authorization;
    if (req.url === '/api/v1/vms' && auth === 'Bearer old')
      return json(res, 401, { error: { code: 'token_expired', message: 'access token expired' } });
    if (req.url === '/api/v1/vms' && auth === 'Bearer garbage') return res.writeHead(200).end('{not json');
    if (req.url === '/api/v1/vms' && auth === 'Bearer wrong-shape') return json(res, 200, { vms: [{ id: 'x' }] });
    if (req.url === '/api/v1/vms' && auth === 'Bearer proxy') return res.writeHead(502).end('<html>Bad Gateway</html>');
    if (req.url === '/api/v1/vms') return json(res, 200, { vms: [{ id: 'demo-vm', online: true, ports: [8888] }] });
    if (req.url === '/api/v1/sessions') {
      const { vm } = JSON.parse(body) as { vm: string };
      if (vm === 'off')
        return json(res, 409, { error: { code: 'vm_offline', message: 'the agent of off is not connected' } });
      if (vm === 'bad') return json(res, 400, { error: { code: 'bad_request', message: 'vm: must be lowercase' } });
      return json(res, 404, { error: { code: 'vm_not_found', message: `no VM ${vm}` } });
    }
    json(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  try {
    const client = (token: string) => new RelayClient({ relayUrl: url + '/', token });
    const expired = await client('old').listVms();
    assert.deepEqual(expired, { ok: false, error: { code: 'token_expired', message: 'access token expired' } });

    const malformed = await client('garbage').listVms();
    assert.ok(!malformed.ok);
    assert.equal(malformed.error.code, 'bad_response');

    const wrongShape = await client('wrong-shape').listVms();
    assert.ok(!wrongShape.ok);
    assert.equal(wrongShape.error.code, 'bad_response');
    assert.match(wrongShape.error.message, /vms\.0\.online/);

    const proxy = await client('proxy').listVms();
    assert.ok(!proxy.ok);
    assert.equal(proxy.error.code, 'http_error');
    assert.equal(proxy.error.code === 'http_error' && proxy.error.status, 502);

    const vms = await client('good').listVms();
    assert.deepEqual(vms, { ok: true, value: { vms: [{ id: 'demo-vm', online: true, ports: [8888] }] } });

    const offline = await client('good').createSession('off');
    assert.ok(!offline.ok);
    assert.equal(offline.error.code, 'vm_offline');
    assert.match(offline.error.message, /not connected/);

    const notFound = await client('good').createSession('nope');
    assert.ok(!notFound.ok);
    assert.equal(notFound.error.code, 'vm_not_found');

    const badRequest = await client('good').createSession('bad');
    assert.ok(!badRequest.ok);
    assert.equal(badRequest.error.code, 'http_error');
    assert.equal(badRequest.error.code === 'http_error' && badRequest.error.relayCode, 'bad_request');
  } finally {
    server.close();
  }
});

test('login signs the challenge with the user key and saves the token 0600; login_failed is typed', async () => {
  const key = userKeyFromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const nonce = 'nonce-'.padEnd(40, 'x');
  const { url, server } = await tinyServer((req, body, res) => {
    const b = JSON.parse(body) as { user: string; signature?: string; nonce?: string };
    if (req.url === '/api/v1/login/challenge') return json(res, 200, { nonce, expiresAt: new Date().toISOString() });
    if (req.url === '/api/v1/login') {
      if (b.user === 'alice' && b.nonce === nonce && verifyLogin(key.publicKeyPem, b.user, nonce, b.signature!))
        return json(res, 200, {
          accessToken: 'tok',
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
          user: 'alice',
        });
      return json(res, 401, { error: { code: 'login_failed', message: 'unknown user or key' } });
    }
  });
  const home = await mkdtemp(join(tmpdir(), 'airlock-login-'));
  try {
    const store = new ConfigStore(airlockPaths(home));
    const good = await login({ relayUrl: url, user: 'alice', key, store });
    assert.ok(good.ok);
    assert.equal((await stat(airlockPaths(home).session)).mode & 0o777, 0o600);
    const token = await store.accessToken(url);
    assert.ok(token.ok);
    assert.equal(token.value.accessToken, 'tok');
    const otherRelay = await store.accessToken('http://127.0.0.1:1');
    assert.ok(!otherRelay.ok);
    assert.equal(otherRelay.error.code, 'not_logged_in');
    const later = await store.accessToken(url, Date.now() + 120_000);
    assert.ok(!later.ok);
    assert.equal(later.error.code, 'token_expired');

    const bad = await login({ relayUrl: url, user: 'bob', key, store });
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, 'login_failed');
  } finally {
    server.close();
    await rm(home, { recursive: true, force: true });
  }
});
