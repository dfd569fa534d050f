import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { WebSocket } from 'ws';
import { ok } from '@airlock/shared';
import { within } from '@airlock/shared/testing';
import { createDispatch } from '../api/dispatch.js';
import { ConnectService } from '../api/service/connect-service.js';
import { CONTENT_SECURITY_POLICY } from '../api/transport/csp.js';
import { decodeWire, encodeWire, SECRET_PROTOCOL_PREFIX, WIRE_PROTOCOL } from '../api/transport/wire.js';
import type { ApiEvent } from '../api/contract/index.js';
import { startUiHost, type UiHost } from './ui-host.js';

let dir: string;
let service: ConnectService;
let host: UiHost;
let other: UiHost;
const logLines: string[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-ui-host-'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Airlock</title>');
  await writeFile(join(dir, 'app.js'), 'console.log(1)');
  await writeFile(join(tmpdir(), 'airlock-ui-host-outside.txt'), 'outside');
  const log = pino(
    { level: 'trace' },
    new Writable({ write: (chunk: Buffer, _e, cb) => (logLines.push(chunk.toString()), cb()) }),
  );
  service = new ConnectService({
    home: join(dir, 'home'),
    log,
    secretCacheFor: () => ({
      backend: 'none',
      status: async () => ({ available: false, reason: 'test' }),
      get: async () => ok(undefined),
      set: async () => ok(undefined),
      delete: async () => ok(false),
    }),
  });
  const options = {
    api: {
      dispatch: createDispatch(service),
      onEvent: (l: Parameters<ConnectService['onEvent']>[0]) => service.onEvent(l),
      log,
    },
    staticDir: dir,
  };
  host = await startUiHost(options);
  other = await startUiHost(options);
});

after(async () => {
  await host?.close();
  await other?.close();
  await service?.close();
  await rm(dir, { recursive: true, force: true });
  await rm(join(tmpdir(), 'airlock-ui-host-outside.txt'), { force: true });
});

const secretOf = (h: UiHost) => new URL(h.url).hash.replace(/^#secret=/, '');

/** Opens the API WebSocket as a page would; resolves with the socket, or the refusal's HTTP status. */
function connectApi(
  h: UiHost,
  options: { secret?: string; origin?: string | null; host?: string; path?: string } = {},
): Promise<WebSocket | number> {
  const protocols = [WIRE_PROTOCOL, ...(options.secret !== undefined ? [SECRET_PROTOCOL_PREFIX + options.secret] : [])];
  const headers: Record<string, string> = {};
  if (options.origin !== null) headers.origin = options.origin ?? h.origin;
  if (options.host) headers.host = options.host;
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}${options.path ?? '/api'}`, protocols, { headers });
  return new Promise((resolve) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(-1));
  });
}

function call(ws: WebSocket, id: number, name: string, params: unknown = {}): Promise<unknown> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const msg = decodeWire(data.toString()) as { id?: number };
      if (msg.id !== id) return;
      ws.off('message', onMessage);
      resolve(msg);
    };
    ws.on('message', onMessage);
    ws.send(encodeWire({ id, request: name, params }));
  });
}

function get(h: UiHost, path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: h.port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('with this launch secret, from this origin, the API answers and events arrive', async () => {
  assert.match(host.url, /^http:\/\/127\.0\.0\.1:\d+\/#secret=[A-Za-z0-9_-]{43}$/);
  assert.ok(!host.origin.includes('#'));
  const ws = await connectApi(host, { secret: secretOf(host) });
  assert.ok(ws instanceof WebSocket);
  try {
    assert.equal(ws.protocol, WIRE_PROTOCOL, 'the secret is never echoed back as the chosen protocol');
    assert.deepEqual(await call(ws, 1, 'app.state'), {
      id: 1,
      response: { ok: true, value: { login: { state: 'not_enrolled' } } },
    });
    const event = new Promise((resolve) => ws.once('message', (d: Buffer) => resolve(decodeWire(d.toString()))));
    await call(ws, 2, 'login.logout');
    assert.deepEqual(await event, { event: { type: 'login.changed', login: { state: 'not_enrolled' } } });
    const bad = (await call(ws, 3, 'terminal.open', { vm: 'Bad VM' })) as {
      response: { ok: boolean; error: { code: string } };
    };
    assert.equal(bad.response.error.code, 'bad_request');
    // Something that is not a request ends the connection.
    ws.send('not json');
    const [code] = (await once(ws, 'close')) as [number];
    assert.equal(code, 1008);
  } finally {
    ws.terminate();
  }
  // The same secret works from localhost too (the other name of this host).
  const local = await connectApi(host, {
    secret: secretOf(host),
    origin: `http://localhost:${host.port}`,
    host: `localhost:${host.port}`,
  });
  assert.ok(local instanceof WebSocket);
  local.terminate();
});

test('no secret, a wrong one, or one from another launch: refused before the WebSocket exists', async () => {
  assert.equal(await connectApi(host), 401);
  assert.equal(await connectApi(host, { secret: '' }), 401);
  assert.equal(await connectApi(host, { secret: secretOf(host).slice(0, -1) + 'x' }), 401);
  assert.equal(await connectApi(host, { secret: secretOf(other) }), 401);
  assert.equal(await connectApi(host, { secret: secretOf(host), path: '/other' }), 400);
});

test('an upgrade whose target is no URL is refused and closed, as any wrong path', async () => {
  const { connect } = await import('node:net');
  const socket = connect(host.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(
    `GET http://[/api HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  let answer = '';
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  await once(socket, 'close');
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.ok(!logLines.some((l) => /Invalid URL/.test(l)), 'no bug logged');
});

test('a page from another origin, or no origin, is refused even with the secret', async () => {
  const secret = secretOf(host);
  assert.equal(await connectApi(host, { secret, origin: 'http://evil.example' }), 403);
  assert.equal(await connectApi(host, { secret, origin: `http://127.0.0.1:${other.port}` }), 403);
  assert.equal(await connectApi(host, { secret, origin: 'null' }), 403);
  assert.equal(await connectApi(host, { secret, origin: null }), 403);
});

test('another Host (DNS rebinding) is refused, for the WebSocket and for files', async () => {
  const secret = secretOf(host);
  assert.equal(await connectApi(host, { secret, host: `evil.example:${host.port}` }), 403);
  assert.equal(await connectApi(host, { secret, host: `127.0.0.1:${other.port}` }), 403);
  assert.equal((await get(host, '/', { host: `evil.example:${host.port}` })).status, 403);
  assert.equal((await get(host, '/', { host: 'evil.example' })).status, 403);
});

test('files: the renderer with the CSP and no CORS; nothing outside its folder; GET only', async () => {
  const index = await get(host, '/');
  assert.equal(index.status, 200);
  assert.match(index.body, /<title>Airlock<\/title>/);
  assert.equal(index.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
  assert.equal(index.headers['x-frame-options'], 'DENY');
  assert.equal(index.headers['x-content-type-options'], 'nosniff');
  for (const res of [index, await get(host, '/app.js', { origin: host.origin })]) {
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  }
  assert.equal((await get(host, '/app.js', { origin: 'http://evil.example' })).status, 403);
  assert.equal((await get(host, '/../airlock-ui-host-outside.txt')).status, 404);
  assert.equal((await get(host, '/%2e%2e/airlock-ui-host-outside.txt')).status, 404);
  // The URL parser folds the two above away before any check; an encoded slash it keeps.
  assert.equal((await get(host, '/%2e%2e%2fairlock-ui-host-outside.txt')).status, 404);
  assert.equal((await get(host, '/..%2f..%2f..%2fetc%2fpasswd')).status, 404);
  assert.equal((await get(host, '/nope.js')).status, 404);
  // Only what was in the folder when the host started: no path from a request reaches the disk.
  await writeFile(join(dir, 'later.js'), 'console.log(2)');
  assert.equal((await get(host, '/later.js')).status, 404);
  assert.equal((await get(host, '/app.js')).body, 'console.log(1)');
  const head = await get(host, '/app.js', {}, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], String('console.log(1)'.length));
  assert.equal(head.body, '');
  assert.equal((await get(host, '/', {}, 'POST')).status, 405);
  const refused = await get(host, '/', {}, 'OPTIONS');
  assert.equal(refused.status, 405);
  assert.equal(refused.headers['access-control-allow-origin'], undefined);
});

test("nothing secret reaches the host's log, not even a secret offered and refused", async () => {
  const secrets = [secretOf(host), secretOf(other)];
  const log = logLines.join('');
  assert.match(log, /refused a WebSocket/, 'refusals are logged');
  assert.match(log, /no or wrong launch secret/);
  for (const s of secrets) assert.ok(!log.includes(s), 'a launch secret in the log');
  assert.ok(!log.includes(secretOf(host).slice(0, -1)), 'an offered secret in the log');
});

test('the page is served before the API is ready; upgrades are checked at once and wait for the API', async () => {
  let ready!: (api: Parameters<typeof startUiHost>[0]['api']) => void;
  const early = await startUiHost({ api: new Promise((resolve) => (ready = resolve)), staticDir: dir });
  try {
    assert.equal((await get(early, '/')).status, 200);
    assert.equal(await connectApi(early), 401, 'a refusal does not wait for the API');
    let opened = false;
    const waiting = connectApi(early, { secret: secretOf(early) }).then((ws) => ((opened = true), ws));
    // By the time a later file request is answered, no WebSocket exists without the API.
    assert.equal((await get(early, '/app.js')).status, 200);
    assert.equal(opened, false);
    ready({
      dispatch: createDispatch(service),
      onEvent: (l) => service.onEvent(l),
      log: pino({ level: 'silent' }),
    });
    const ws = await waiting;
    assert.ok(ws instanceof WebSocket);
    try {
      assert.deepEqual(await call(ws, 1, 'app.state'), {
        id: 1,
        response: { ok: true, value: { login: { state: 'not_enrolled' } } },
      });
    } finally {
      ws.terminate();
    }
  } finally {
    await early.close();
  }
});

test('when the API never comes (Connect failed to start), a waiting upgrade is dropped', async () => {
  let fail!: (e: Error) => void;
  const early = await startUiHost({ api: new Promise((_, reject) => (fail = reject)), staticDir: dir });
  try {
    const waiting = connectApi(early, { secret: secretOf(early) });
    assert.equal((await get(early, '/')).status, 200);
    fail(new Error('no context'));
    assert.equal(await waiting, -1);
  } finally {
    await early.close();
  }
});

test("a terminal's events reach only the window that opened it, from its first byte; a window that goes away has its terminals closed, unseen by others", async () => {
  const calls: Array<[unknown, unknown]> = [];
  const listeners = new Set<(e: ApiEvent) => void>();
  const emit = (e: ApiEvent) => listeners.forEach((l) => l(e));
  const output = (terminalId: string, byte: number): ApiEvent => ({
    type: 'terminal.output',
    terminalId,
    data: new Uint8Array([byte]),
  });
  const fake = await startUiHost({
    api: {
      dispatch: async (name, params) => {
        calls.push([name, params]);
        if (name === 'terminal.open') {
          // The shell prints before the answer is back, as a real one may.
          emit(output('term-a', 65));
          return { ok: true, value: { terminalId: 'term-a', vm: 'lab-vm', sessionId: 's' } };
        }
        // The service's close: the shell's last words, then its end.
        if (name === 'terminal.close') {
          emit(output('term-a', 90));
          emit({ type: 'terminal.ended', terminalId: 'term-a', end: { kind: 'closed' } });
        }
        return { ok: true, value: {} };
      },
      onEvent: (l) => (listeners.add(l), () => listeners.delete(l)),
      log: pino({ level: 'silent' }),
    },
    staticDir: dir,
  });
  const a = await connectApi(fake, { secret: secretOf(fake) });
  const b = await connectApi(fake, { secret: secretOf(fake) });
  assert.ok(a instanceof WebSocket && b instanceof WebSocket);
  try {
    const seen = (ws: WebSocket) => {
      const events: unknown[] = [];
      ws.on('message', (d: Buffer) => {
        const m = decodeWire(d.toString()) as { id?: number; event?: { type: string; terminalId?: string } };
        events.push(m.event ? `${m.event.type}:${m.event.terminalId ?? ''}` : `answer:${m.id}`);
      });
      return events;
    };
    const [seenA, seenB] = [seen(a), seen(b)];
    await call(a, 1, 'terminal.open', { vm: 'lab-vm' });
    emit(output('term-a', 66));
    emit(output('term-nobody', 67));
    emit({ type: 'vms.changed', vms: [] });
    // Another window cannot act on it.
    const typed = (await call(b, 2, 'terminal.input', { terminalId: 'term-a', data: 'x' })) as {
      response: { ok: boolean; error?: { code: string } };
    };
    assert.equal(typed.response.error?.code, 'not_found');
    await call(a, 3, 'app.state');
    assert.deepEqual(seenA, [
      'terminal.output:term-a',
      'answer:1',
      'terminal.output:term-a',
      'vms.changed:',
      'answer:3',
    ]);
    calls.length = 0;
    a.close();
    await once(a, 'close');
    const deadline = Date.now() + 5000;
    while (calls.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(calls, [['terminal.close', { terminalId: 'term-a' }]]);
    await call(b, 4, 'app.state');
    assert.deepEqual(seenB, ['vms.changed:', 'answer:2', 'answer:4'], "B saw none of A's terminal");
  } finally {
    a.terminate();
    b.terminate();
    await fake.close();
  }
});

test('a request whose handling throws (a bug on this side) is answered as an internal error and logged; the window stays connected', async () => {
  const logged: string[] = [];
  const buggy = await startUiHost({
    api: {
      dispatch: async (name) => {
        if (name === 'app.state') throw new TypeError('a bug in the dispatch');
        return { ok: true, value: { level: 'info' } };
      },
      onEvent: () => () => {},
      log: pino(
        { level: 'trace' },
        new Writable({ write: (chunk: Buffer, _e, cb) => (logged.push(chunk.toString()), cb()) }),
      ),
    },
    staticDir: dir,
  });
  try {
    const ws = await connectApi(buggy, { secret: secretOf(buggy) });
    assert.ok(ws instanceof WebSocket);
    assert.deepEqual(await within(call(ws, 1, 'app.state'), 5000, 'an answer to the request that threw'), {
      id: 1,
      response: {
        ok: false,
        error: {
          code: 'internal',
          message: 'internal error while handling app.state (a bug; the log has the detail)',
          action: 'none',
        },
      },
    });
    assert.ok(logged.some((l) => /request failed with a bug/.test(l) && /a bug in the dispatch/.test(l)));
    assert.deepEqual(await call(ws, 2, 'settings.get'), { id: 2, response: { ok: true, value: { level: 'info' } } });
    ws.close();
  } finally {
    await buggy.close();
  }
});
