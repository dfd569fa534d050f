import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { sshFingerprint } from '@airlock/shared';
import { backoffDelay, maxAttempt } from './backoff.js';
import type { LinkStateEvent } from './control-link.js';
import { FakeRelay } from './testing/fake-relay.js';
import { startTestAgent } from './testing/harness.js';

test('backoff grows exponentially with bounded jitter and caps at the maximum', () => {
  const p = { minDelayMs: 500, maxDelayMs: 30000 };
  assert.equal(
    backoffDelay(0, p, () => 0),
    250,
  );
  assert.equal(
    backoffDelay(0, p, () => 1),
    500,
  );
  assert.equal(
    backoffDelay(3, p, () => 0),
    2000,
  );
  assert.equal(
    backoffDelay(3, p, () => 1),
    4000,
  );
  assert.equal(
    backoffDelay(20, p, () => 1),
    30000,
  );
  assert.equal(
    backoffDelay(20, p, () => 0),
    15000,
  );
  const seen = new Set(Array.from({ length: 20 }, () => backoffDelay(4, p)));
  assert.ok(seen.size > 1, 'jitter varies the delay');
  assert.equal(
    backoffDelay(maxAttempt(p), p, () => 1),
    30000,
  );
});

test('registers a fresh host key per start over an authenticated control socket', async () => {
  const relay = await FakeRelay.start();
  try {
    const a1 = await startTestAgent(relay);
    await a1.whenOnline();
    const reg = relay.messages.find((m) => m.type === 'register');
    assert.ok(reg && reg.type === 'register');
    assert.equal(reg.hostKey, a1.hostKeyBlobB64);
    assert.equal(sshFingerprint(Buffer.from(reg.hostKey, 'base64')), a1.hostKeyFingerprint);
    assert.match(Buffer.from(reg.hostKey, 'base64').subarray(4, 23).toString(), /^ecdsa-sha2-nistp384/);
    const up = relay.upgrades[0]!;
    assert.equal(up.path, '/ws/agent');
    assert.equal(up.authorization, `Bearer ${relay.credential}`);
    assert.ok(!up.url.includes(relay.credential), 'the credential is never in the URL');
    await a1.close();

    const a2 = await startTestAgent(relay);
    await a2.whenOnline();
    assert.notEqual(a2.hostKeyFingerprint, a1.hostKeyFingerprint, 'a new start makes a new host key');
    await a2.close();
  } finally {
    await relay.close();
  }
});

test('reconnects with growing backoff after the relay drops the socket, then stays online', async () => {
  const relay = await FakeRelay.start();
  const drops = 4;
  relay.onAgentMessage = (ws, msg) => {
    if (msg.type !== 'register') return;
    if (relay.controls.length <= drops) ws.terminate();
    else ws.send(JSON.stringify({ type: 'registered', vm: relay.vmId }));
  };
  const events: LinkStateEvent[] = [];
  const agent = await startTestAgent(relay, { backoff: { minDelayMs: 40, maxDelayMs: 2000, stableAfterMs: 10000 } });
  agent.onState((e) => events.push(e));
  try {
    await agent.whenOnline(10000);
    assert.equal(relay.controls.length, drops + 1);
    const delays = events.filter((e) => e.state === 'offline').map((e) => e.retryInMs!);
    assert.equal(delays.length, drops);
    // Equal jitter: attempt n waits within [step/2, step], step = 40·2^n — the ranges do not overlap.
    delays.forEach((d, n) => {
      const step = 40 * 2 ** n;
      assert.ok(d >= step / 2 && d <= step, `delay ${d} for attempt ${n}`);
    });
    assert.deepEqual(
      events.slice(0, 3).map((e) => e.state),
      ['offline', 'connecting', 'offline'],
    );
  } finally {
    await agent.close();
    await relay.close();
  }
});

test('detects a dead link when pongs stop, and reconnects', async () => {
  const relay = await FakeRelay.start({ autoPong: false });
  const events: LinkStateEvent[] = [];
  const agent = await startTestAgent(relay, {
    keepAlive: { pingIntervalMs: 50, pongTimeoutMs: 150 },
    backoff: { minDelayMs: 20, maxDelayMs: 100 },
  });
  agent.onState((e) => events.push(e));
  try {
    await agent.whenOnline();
    const t0 = Date.now();
    await relay.until(() => relay.controls.length >= 2, 3000, 'a reconnect');
    assert.ok(Date.now() - t0 < 2000);
    const offline = events.find((e) => e.state === 'offline');
    assert.equal(offline?.reason, 'pong-timeout');
  } finally {
    await agent.close();
    await relay.close();
  }
});

test('a wrong credential (401) is reported as unauthorized and retried at maximum backoff', async () => {
  const relay = await FakeRelay.start({ credential: 'test-vm.the-right-one' });
  const events: LinkStateEvent[] = [];
  const agent = await startTestAgent(relay, {
    credential: 'test-vm.wrong',
    backoff: { minDelayMs: 10, maxDelayMs: 200 },
  });
  agent.onState((e) => events.push(e));
  try {
    await relay.until(() => relay.upgrades.length >= 2, 3000, 'a retry');
    assert.equal(relay.upgrades[0]!.status, 401);
    const offline = events.find((e) => e.state === 'offline')!;
    assert.equal(offline.reason, 'unauthorized');
    assert.ok(offline.retryInMs! >= 100, `retry ${offline.retryInMs} uses the maximum backoff step`);
    assert.equal(relay.controls.length, 0);
  } finally {
    await agent.close();
    await relay.close();
  }
});

test('a relay whose TLS key does not match the pin gets no upgrade: logged loudly and retried', async () => {
  const relay = await FakeRelay.start();
  const lines: { level: number; msg: string; reason?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as (typeof lines)[0]);
      cb();
    },
  });
  const events: LinkStateEvent[] = [];
  const agent = await startTestAgent(
    relay,
    { relayPin: `sha256/${randomBytes(32).toString('base64')}`, backoff: { minDelayMs: 20, maxDelayMs: 100 } },
    { logger: pino({ level: 'info' }, sink) },
  );
  agent.onState((e) => events.push(e));
  try {
    await relay.until(() => relay.tcpConnections >= 3, 5000, 'the agent to retry');
    await relay.until(() => events.filter((e) => e.state === 'offline').length >= 2, 5000, 'offline events');
    assert.equal(relay.upgrades.length, 0, 'no HTTP request, so no credential, reached the relay');
    assert.equal(relay.controls.length, 0);
    assert.equal(agent.state === 'online', false);
    const offline = events.filter((e) => e.state === 'offline');
    assert.ok(
      offline.every((e) => e.reason === 'tls-pin-mismatch'),
      JSON.stringify(offline),
    );
    const loud = lines.find((l) => l.level === 50 && /does not match this agent's pinned key/.test(l.msg));
    assert.ok(loud, 'an error-level log line says what happened');
    assert.match(loud.msg, /enroll this agent again with a new token/);
    assert.ok(!lines.some((l) => JSON.stringify(l).includes(relay.credential)), 'the credential is never logged');
  } finally {
    await agent.close();
    await relay.close();
  }
});
