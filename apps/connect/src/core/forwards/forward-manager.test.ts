import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { flood, portOf, sendAndHalfClose as roundTrip, startDigestService, streamEnd } from '@airlock/shared/testing';
import { ForwardManager, type ForwardEvent } from './forward-manager.js';
import { CloseCode } from '@airlock/shared';
import { fakeCredentials, startFakeRelay } from '../test-support/fake-relay.js';
import type { VmSession } from '../session/types.js';
import { openVmSession } from '../session/vm-session.js';

const TIMEOUT = { timeout: 20_000 };

test('forwards bind 127.0.0.1, carry bytes with half-close, refuse ports outside the ticket', TIMEOUT, async () => {
  const svc = await startDigestService();
  const svcPort = portOf(svc);
  // 5901 is in the ticket but the agent refuses it: the connection is dropped with a reason.
  const relay = await startFakeRelay({ ports: [svcPort, 5901], agentPorts: [svcPort] });
  const opened = await openVmSession({ credentials: await fakeCredentials(relay), vm: 'demo-vm' });
  assert.ok(opened.ok);
  const session = opened.value;
  const manager = new ForwardManager(session);
  const events: ForwardEvent[] = [];
  manager.onEvent((e) => events.push(e));
  try {
    const notAllowed = await manager.add(22);
    assert.ok(!notAllowed.ok);
    assert.equal(notAllowed.error.code, 'port_not_allowed');
    assert.match(notAllowed.error.message, /port 22 on demo-vm is not allowed/);
    // The agent was asked all the same, so that its refusal reaches the audit log.
    assert.ok(relay.seen.requests.includes('direct-tcpip:22'));

    const a = await manager.add(svcPort);
    const b = await manager.add(svcPort);
    assert.ok(a.ok && b.ok);
    assert.notEqual(a.value.localPort, 0);
    assert.notEqual(a.value.localPort, b.value.localPort);
    assert.equal(a.value.localAddress, `127.0.0.1:${a.value.localPort}`);

    const payload = randomBytes(3 * 1024 * 1024 + 7);
    const expected = `${payload.length}:${createHash('sha256').update(payload).digest('hex')}`;
    const [ra, rb] = await Promise.all([roundTrip(a.value.localPort, payload), roundTrip(b.value.localPort, payload)]);
    assert.equal(ra, expected);
    assert.equal(rb, expected);
    // Traffic is counted at the local sockets: what the client sent, and the reply it got.
    while (manager.stats(a.value.localPort)?.connections !== 0) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(manager.stats(a.value.localPort), {
      connections: 0,
      bytesIn: Buffer.byteLength(expected),
      bytesOut: payload.length,
    });
    assert.equal(manager.stats(1), undefined);

    const inUse = await manager.add(svcPort, a.value.localPort);
    assert.ok(!inUse.ok);
    assert.equal(inUse.error.code, 'local_port_in_use');

    const refused = await manager.add(5901);
    assert.ok(refused.ok);
    const sock = connect({ host: '127.0.0.1', port: refused.value.localPort, allowHalfOpen: true });
    // A connection that cannot be carried is reset, not ended as if the service had answered.
    assert.equal(await streamEnd(sock), 'ECONNRESET');
    const e = events.find((x) => x.type === 'connection-refused');
    assert.ok(e && e.type === 'connection-refused');
    assert.equal(e.error.code, 'port_not_allowed');
    assert.match(e.error.message, /not allowed by the agent policy/);
    assert.equal(e.sessionId, session.sessionId);

    assert.deepEqual(
      manager.forwards.map((f) => f.remotePort),
      [svcPort, svcPort, 5901],
    );
  } finally {
    await manager.close();
    await session.close();
    await relay.close();
    svc.close();
  }
});

test('closing the manager stops its listeners', TIMEOUT, async () => {
  const relay = await startFakeRelay({ ports: [8888] });
  const opened = await openVmSession({ credentials: await fakeCredentials(relay), vm: 'demo-vm' });
  assert.ok(opened.ok);
  const manager = new ForwardManager(opened.value);
  try {
    const f = await manager.add(8888);
    assert.ok(f.ok);
    await manager.close();
    const sock = connect({ host: '127.0.0.1', port: f.value.localPort });
    const [e] = (await once(sock, 'error')) as [NodeJS.ErrnoException];
    assert.equal(e.code, 'ECONNREFUSED');
    const after = await manager.add(8888);
    assert.ok(!after.ok);
    assert.equal(after.error.code, 'session_closed');
  } finally {
    await opened.value.close();
    await relay.close();
  }
});

test(
  'a forward still being added when the manager closes is refused and leaves no listener behind',
  TIMEOUT,
  async () => {
    const relay = await startFakeRelay({ ports: [8888] });
    const opened = await openVmSession({ credentials: await fakeCredentials(relay), vm: 'demo-vm' });
    assert.ok(opened.ok);
    const manager = new ForwardManager(opened.value);
    try {
      // What a dropped session, a stopped supervisor or a logout does while an add is on its way.
      const adding = manager.add(8888);
      await manager.close();
      const added = await adding;
      assert.ok(!added.ok, 'an add that finished after the close was kept');
      assert.equal(added.error.code, 'session_closed');
      assert.deepEqual(manager.forwards, []);
    } finally {
      await opened.value.close();
      await relay.close();
    }
  },
);

test('a new session swapped under the listeners keeps the local port working', TIMEOUT, async () => {
  const svc = await startDigestService();
  const svcPort = portOf(svc);
  const relay = await startFakeRelay({ ports: [svcPort] });
  const credentials = await fakeCredentials(relay);
  const open = async (): Promise<VmSession> => {
    const opened = await openVmSession({ credentials, vm: 'demo-vm' });
    if (!opened.ok) throw new Error(opened.error.message);
    return opened.value;
  };
  const first = await open();
  const manager = new ForwardManager(first, { keepListeners: true, replacementWaitMs: 5_000 });
  let second: VmSession | undefined;
  try {
    const f = await manager.add(svcPort);
    assert.ok(f.ok);
    const payload = randomBytes(64 * 1024);
    const expected = `${payload.length}:${createHash('sha256').update(payload).digest('hex')}`;
    assert.equal(await roundTrip(f.value.localPort, payload), expected);

    // The agent goes away (as on a restart): the session ends, the listener stays.
    const ended = new Promise<void>((r) => first.onClosed(() => r()));
    relay.dropSessions(CloseCode.peerClosed, 'agent restarted');
    await ended;
    assert.equal(first.isClosed, true);

    // A connection made while there is no session waits for the replacement.
    const waiting = roundTrip(f.value.localPort, payload);
    second = await open();
    manager.replaceSession(second);
    assert.equal(await waiting, expected);
    assert.equal(await roundTrip(f.value.localPort, payload), expected);
    assert.equal(manager.currentSession.sessionId, second.sessionId);
    assert.notEqual(second.sessionId, first.sessionId);
    assert.deepEqual(
      manager.forwards.map((x) => x.localPort),
      [f.value.localPort],
    );
  } finally {
    await manager.close();
    await second?.close();
    await first.close();
    await relay.close();
    svc.close();
  }
});

test('keeping listeners: a connection with no replacement in time is refused, not held forever', TIMEOUT, async () => {
  const relay = await startFakeRelay({ ports: [8888] });
  const opened = await openVmSession({ credentials: await fakeCredentials(relay), vm: 'demo-vm' });
  assert.ok(opened.ok);
  const manager = new ForwardManager(opened.value, { keepListeners: true, replacementWaitMs: 200 });
  const events: ForwardEvent[] = [];
  manager.onEvent((e) => events.push(e));
  try {
    const f = await manager.add(8888);
    assert.ok(f.ok);
    const ended = new Promise<void>((r) => opened.value.onClosed(() => r()));
    relay.dropSessions(CloseCode.peerClosed, 'agent restarted');
    await ended;
    const sock = connect({ host: '127.0.0.1', port: f.value.localPort, allowHalfOpen: true });
    assert.equal(await streamEnd(sock), 'ECONNRESET');
    const refused = events.find((e) => e.type === 'connection-refused');
    assert.ok(refused && refused.type === 'connection-refused');
    assert.equal(refused.error.code, 'session_closed');
  } finally {
    await manager.close();
    await relay.close();
  }
});

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = portOf(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('a port where nothing listens: the connection is reset and the event says so', TIMEOUT, async () => {
  const dead = await closedPort();
  const relay = await startFakeRelay({ ports: [dead] });
  const opened = await openVmSession({ credentials: await fakeCredentials(relay), vm: 'demo-vm' });
  assert.ok(opened.ok);
  const manager = new ForwardManager(opened.value);
  const events: ForwardEvent[] = [];
  manager.onEvent((e) => events.push(e));
  try {
    const f = await manager.add(dead);
    assert.ok(f.ok);
    const sock = connect({ host: '127.0.0.1', port: f.value.localPort, allowHalfOpen: true });
    assert.equal(await streamEnd(sock), 'ECONNRESET');
    const closed = events.find((e) => e.type === 'connection-closed');
    assert.ok(closed && closed.type === 'connection-closed');
    assert.deepEqual(closed.failure, {
      code: 'port_unreachable',
      sessionId: opened.value.sessionId,
      port: dead,
      message: `nothing is listening on port ${dead} in demo-vm (connection refused)`,
    });
  } finally {
    await manager.close();
    await opened.value.close();
    await relay.close();
  }
});

test('a session lost mid-download resets the local connection, never a clean end', TIMEOUT, async () => {
  const source = createServer((s) => flood(s.on('error', () => {})));
  source.listen(0, '127.0.0.1');
  await once(source, 'listening');
  const relay = await startFakeRelay({ ports: [portOf(source)] });
  const opened = await openVmSession({ credentials: await fakeCredentials(relay), vm: 'demo-vm' });
  assert.ok(opened.ok);
  const manager = new ForwardManager(opened.value, { keepListeners: true });
  const events: ForwardEvent[] = [];
  manager.onEvent((e) => events.push(e));
  try {
    const f = await manager.add(portOf(source));
    assert.ok(f.ok);
    const reader = connect({ host: '127.0.0.1', port: f.value.localPort, allowHalfOpen: true });
    let got = 0;
    reader.on('data', (d: Buffer) => (got += d.length));
    const ended = streamEnd(reader);
    while (got < 2 * 1024 * 1024) await new Promise((r) => setTimeout(r, 10));
    relay.dropSessions(CloseCode.peerClosed, 'relay went away');
    assert.equal(await ended, 'ECONNRESET');
    await new Promise((r) => setImmediate(r));
    const closed = events.find((e) => e.type === 'connection-closed');
    assert.ok(closed && closed.type === 'connection-closed');
    assert.match(closed.reset ?? '', /^the session ended/);

    // Stopping the forward resets what is still open, too.
    const second = connect({ host: '127.0.0.1', port: f.value.localPort, allowHalfOpen: true });
    const secondEnded = streamEnd(second);
    await once(second, 'connect');
    await manager.close();
    assert.equal(await secondEnded, 'ECONNRESET');
  } finally {
    await manager.close();
    await opened.value.close();
    await relay.close();
    source.close();
  }
});
