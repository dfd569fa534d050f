import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { portOf, sendAndHalfClose as roundTrip, startDigestService } from '@airlock/shared/testing';
import { ForwardManager, type ForwardEvent } from './forward-manager.js';
import { startFakeRelay } from './test-support/fake-relay.js';
import { userKeyFromPrivateKey } from './user-key-store.js';
import { openVmSession } from './vm-session.js';

const TIMEOUT = { timeout: 20_000 };

test('forwards bind 127.0.0.1, carry bytes with half-close, refuse ports outside the ticket', TIMEOUT, async () => {
  const svc = await startDigestService();
  const svcPort = portOf(svc);
  const userKey = userKeyFromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  // 5901 is in the ticket but the agent refuses it: the connection is dropped with a reason.
  const relay = await startFakeRelay({
    acceptUserKey: userKey.fingerprint,
    ports: [svcPort, 5901],
    agentPorts: [svcPort],
  });
  const opened = await openVmSession({ relayUrl: relay.url, token: 't', vm: 'demo-vm', user: 'alice', userKey });
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

    const inUse = await manager.add(svcPort, a.value.localPort);
    assert.ok(!inUse.ok);
    assert.equal(inUse.error.code, 'local_port_in_use');

    const refused = await manager.add(5901);
    assert.ok(refused.ok);
    const sock = connect({ host: '127.0.0.1', port: refused.value.localPort });
    sock.on('error', () => {});
    await once(sock, 'close');
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
  const userKey = userKeyFromPrivateKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const relay = await startFakeRelay({ ports: [8888] });
  const opened = await openVmSession({ relayUrl: relay.url, token: 't', vm: 'demo-vm', user: 'alice', userKey });
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
