import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { before, test } from 'node:test';
import { mintServerCertificate, spkiPin, type MintedCertificate } from '@airlock/shared';
import { RelayClient } from './relay-client.js';
import { PinnedHttpsAgent } from '@airlock/shared';
import { MAX_RELAY_ANSWER_BYTES, relayHttpsFetch, type RelayFetch } from './relay-http.js';
import { parseRelayUrl } from './relay-endpoint.js';
import { fakeRelayCertificate } from '../test-support/fake-relay.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

let cert: MintedCertificate;
let pin: string;
before(async () => {
  cert = await fakeRelayCertificate();
  pin = spkiPin(cert.certPem);
});

/** An HTTPS server with the test relay certificate; counts the requests it got. */
async function tinyServer(handler: Handler): Promise<{ url: string; server: Server; requests: () => number }> {
  let requests = 0;
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    requests++;
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, body, res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests: () => requests };
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

/** A client of a tiny server answering with `handler`, for `run`; both closed after. */
async function withClientOf(
  handler: Handler,
  run: (client: RelayClient, url: string, server: Server) => Promise<void>,
  timeoutMs?: number,
): Promise<void> {
  const { url, server } = await tinyServer(handler);
  const client = new RelayClient({ endpoint: { url, pin }, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  try {
    await run(client, url, server);
  } finally {
    await client.close();
    await stop(server);
  }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

test('relay URLs: https only, with a clear message for http://', () => {
  assert.deepEqual(parseRelayUrl('https://relay.example.org:7443/'), {
    ok: true,
    value: 'https://relay.example.org:7443',
  });
  const plain = parseRelayUrl('http://relay.example.org:7443');
  assert.ok(!plain.ok);
  assert.match(plain.error.message, /HTTPS only; use https:\/\/relay\.example\.org:7443 instead of http:\/\//);
  assert.ok(!parseRelayUrl('relay.example.org').ok);
  assert.ok(!parseRelayUrl('https://relay.example.org/?x=1').ok);
});

test('an http:// relay is refused before any connection', async () => {
  const client = new RelayClient({ endpoint: { url: 'http://127.0.0.1:1', pin: 'sha256/x' } });
  const res = await client.listVms();
  assert.ok(!res.ok);
  assert.equal(res.error.code, 'bad_relay_url');
  await client.close();
});

test('an unreachable relay is relay_unreachable, naming the URL', async () => {
  const { url, server } = await tinyServer(() => {});
  await stop(server);
  const client = new RelayClient({ endpoint: { url, pin } });
  const res = await client.listVms();
  await client.close();
  assert.ok(!res.ok);
  assert.equal(res.error.code, 'relay_unreachable');
  assert.match(res.error.message, new RegExp(`${url}.*connection refused`));
});

test('a relay that does not answer in time is relay_unreachable', () =>
  withClientOf(
    () => {}, // never answers
    async (client) => {
      const res = await client.listVms();
      assert.ok(!res.ok);
      assert.equal(res.error.code, 'relay_unreachable');
      assert.match(res.error.message, /no answer/);
    },
    300,
  ));

test('a relay with another key than the pin gets no request: relay_pin_mismatch', async () => {
  const { url, server, requests } = await tinyServer((_req, _body, res) => json(res, 200, { vms: [] }));
  const otherPin = spkiPin((await mintServerCertificate({ commonName: 'other' })).certPem);
  const client = new RelayClient({ endpoint: { url, pin: otherPin }, token: 'secret-token' });
  try {
    const res = await client.enrollBegin({ code: 'x'.repeat(43), publicKeyPem: 'p', deviceName: 'd' });
    assert.ok(!res.ok);
    assert.equal(res.error.code, 'relay_pin_mismatch');
    if (res.error.code !== 'relay_pin_mismatch') return;
    assert.equal(res.error.expected, otherPin);
    assert.equal(res.error.presented, pin);
    assert.match(res.error.message, /does not match the pin from your enrollment code.*Nothing was sent/);
    assert.equal(requests(), 0);
  } finally {
    await client.close();
    await stop(server);
  }
});

test('relay error bodies map to typed errors; malformed bodies are bad_response', async () => {
  const { url, server } = await tinyServer((req, body, res) => {
    const auth = req.headers.authorization;
    if (req.url === '/api/v1/vms' && auth === 'Bearer old')
      return json(res, 401, { error: { code: 'token_expired', message: 'access token expired' } });
    if (req.url === '/api/v1/vms' && auth === 'Bearer revoked')
      return json(res, 401, { error: { code: 'revoked', message: 'this device was revoked' } });
    if (req.url === '/api/v1/vms' && auth === 'Bearer stolen')
      return json(res, 401, { error: { code: 'certificate_mismatch', message: 'bound to another certificate' } });
    if (req.url === '/api/v1/vms' && auth === 'Bearer garbage') return res.writeHead(200).end('{not json');
    if (req.url === '/api/v1/vms' && auth === 'Bearer wrong-shape') return json(res, 200, { vms: [{ id: 'x' }] });
    if (req.url === '/api/v1/vms' && auth === 'Bearer proxy') return res.writeHead(502).end('<html>Bad Gateway</html>');
    if (req.url === '/api/v1/vms') return json(res, 200, { vms: [{ id: 'demo-vm', online: true, ports: [8888] }] });
    if (req.url === '/api/v1/login/challenge')
      return json(
        res,
        429,
        { error: { code: 'rate_limited', message: 'too many requests; try again in 42 s' } },
        {
          'retry-after': '42',
        },
      );
    if (req.url === '/api/v1/enroll/complete') {
      const { totp } = JSON.parse(body) as { totp: string };
      return json(res, 401, {
        error: {
          code: 'enrollment_failed',
          message:
            totp === '000000'
              ? 'the authenticator code is wrong; too many failures, so this enrollment is void — ask your admin'
              : 'the authenticator code is wrong',
        },
      });
    }
    if (req.url === '/api/v1/sessions') {
      const { vm } = JSON.parse(body) as { vm: string };
      if (vm === 'off')
        return json(res, 409, { error: { code: 'vm_offline', message: 'the agent of off is not connected' } });
      if (vm === 'bad') return json(res, 400, { error: { code: 'bad_request', message: 'vm: must be lowercase' } });
      return json(res, 404, { error: { code: 'vm_not_found', message: `no VM ${vm}` } });
    }
    json(res, 404, { error: { code: 'not_found', message: 'no route' } });
  });
  const clients: RelayClient[] = [];
  const client = (token: string) => {
    const c = new RelayClient({ endpoint: { url: url + '/', pin }, token });
    clients.push(c);
    return c;
  };
  try {
    assert.deepEqual(await client('old').listVms(), {
      ok: false,
      error: { code: 'token_expired', message: 'access token expired' },
    });
    const revoked = await client('revoked').listVms();
    assert.ok(!revoked.ok);
    assert.equal(revoked.error.code, 'revoked');
    const stolen = await client('stolen').listVms();
    assert.ok(!stolen.ok);
    assert.equal(stolen.error.code, 'certificate_mismatch');

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

    const limited = await client('').challenge('alice');
    assert.deepEqual(limited, {
      ok: false,
      error: { code: 'rate_limited', retryAfterSeconds: 42, message: 'too many requests; try again in 42 s' },
    });

    const id = '5b0f5d8e-7c5e-4a43-9a8e-2a1f8a0c3d11';
    const wrong = await client('').enrollComplete({ enrollmentId: id, totp: '123456', signature: 'A'.repeat(16) });
    assert.ok(!wrong.ok && wrong.error.code === 'enrollment_failed');
    assert.equal(wrong.error.voided, false);
    const voided = await client('').enrollComplete({ enrollmentId: id, totp: '000000', signature: 'A'.repeat(16) });
    assert.ok(!voided.ok && voided.error.code === 'enrollment_failed');
    assert.equal(voided.error.voided, true);

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
    await Promise.all(clients.map((c) => c.close()));
    await stop(server);
  }
});

test('the fetch injection point sees each request with the pinned agent', async () => {
  const { url, server } = await tinyServer((_req, _body, res) => json(res, 200, { vms: [] }));
  const seen: string[] = [];
  const spy: RelayFetch = (u, init) => {
    seen.push(`${init.method} ${u} ${init.agent instanceof PinnedHttpsAgent ? 'pinned' : 'unpinned'}`);
    return relayHttpsFetch(u, init);
  };
  const client = new RelayClient({ endpoint: { url, pin }, fetch: spy });
  try {
    assert.deepEqual(await client.listVms(), { ok: true, value: { vms: [] } });
    assert.deepEqual(seen, [`GET ${url}/api/v1/vms pinned`]);
  } finally {
    await client.close();
    await stop(server);
  }
});

test('kept-alive: the calls of one client share one connection, and close() ends it', async () => {
  const { url, server } = await tinyServer((_req, _body, res) => json(res, 200, { vms: [] }));
  let connections = 0;
  server.on('secureConnection', () => connections++);
  const client = new RelayClient({ endpoint: { url, pin } });
  try {
    for (let i = 0; i < 3; i++) assert.deepEqual(await client.listVms(), { ok: true, value: { vms: [] } });
    assert.equal(connections, 1);
    assert.equal(await openConnections(server), 1);
    await client.close();
    // The server sees the kept-alive connection end (within 5 s: it would otherwise stay open).
    const deadline = Date.now() + 5_000;
    while ((await openConnections(server)) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await openConnections(server), 0);
  } finally {
    await client.close();
    await stop(server);
  }
});

const openConnections = (server: Server) =>
  new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));

test('an answer larger than the limit is bad_response, and the connection is dropped', () => {
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  return withClientOf(
    (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Streams until the client hangs up; each write waits for the last to drain.
      const more = () => !res.destroyed && res.write(chunk, (e) => (e ? undefined : more()));
      more();
    },
    async (client, url) => {
      const res = await client.listVms();
      assert.ok(!res.ok);
      assert.equal(res.error.code, 'bad_response');
      assert.match(
        res.error.message,
        new RegExp(`GET ${url}/api/v1/vms: the relay's answer was larger than ${MAX_RELAY_ANSWER_BYTES / 1048576} MiB`),
      );
    },
  );
});

test('an answer cut short by the relay is relay_unreachable (connection reset), never a shorter answer', () =>
  withClientOf(
    (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"vms": [', () => res.socket?.destroy());
    },
    async (client) => {
      const res = await client.listVms();
      assert.ok(!res.ok);
      assert.equal(res.error.code, 'relay_unreachable');
      assert.match(res.error.message, /connection reset/);
    },
  ));
