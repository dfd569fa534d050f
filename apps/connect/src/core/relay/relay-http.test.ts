import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { createPinnedHttpsAgent } from '@airlock/shared';
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
