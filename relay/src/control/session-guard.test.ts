import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CloseCode } from '@airlock/shared';
import { TEST_VM, closed, pairedSession, startHarness, type Harness } from '../test-support/harness.js';

/** Counts the store reads a revocation check makes (users, devices, grants, VMs, sessions). */
function countLookups(h: Harness): { count: () => number; restore: () => void } {
  const store = h.relay.store as unknown as Record<string, Record<string, (...a: unknown[]) => unknown>>;
  let n = 0;
  const restores: Array<() => void> = [];
  for (const [area, method] of [
    ['users', 'get'],
    ['devices', 'get'],
    ['grants', 'get'],
    ['vms', 'get'],
    ['sessions', 'get'],
  ] as const) {
    const target = store[area]!;
    const original = target[method]!;
    target[method] = (...args: unknown[]) => {
      n++;
      return original.apply(target, args);
    };
    restores.push(() => (target[method] = original));
  }
  return { count: () => n, restore: () => restores.forEach((r) => r()) };
}

describe('the revocation guard re-checks sessions only when the store says something changed', () => {
  let h: Harness;
  before(async () => {
    // The guard's own timer (the longest the configuration allows) is out of the way: the tests tick it.
    h = await startHarness({ revocationCheckMs: 60_000 });
  });
  after(() => h.close());

  test('between changes a tick reads no session, however many are open; a change makes it look again', async () => {
    const sessions = [await pairedSession(h), await pairedSession(h), await pairedSession(h)];
    try {
      await h.relay.guard.tick(); // the first look: every session is new, and the epoch is first read
      const lookups = countLookups(h);
      try {
        for (let i = 0; i < 5; i++) await h.relay.guard.tick();
        assert.equal(lookups.count(), 0, 'idle ticks read nothing per session');
        // A change that concerns none of these sessions still moves the epoch: all are re-checked, none closed.
        assert.ok((await h.relay.admin.disableUser('test', 'bob')).ok);
        await h.relay.guard.tick();
        assert.ok(lookups.count() >= sessions.length, `a sweep after the change (${lookups.count()} reads)`);
        for (const s of sessions) assert.equal(h.relay.sessionStats(s.session.sessionId)?.state, 'paired');
      } finally {
        lookups.restore();
      }
    } finally {
      for (const s of sessions) s.agent.close();
    }
  });

  test('a grant that runs out closes its session at the expiry, with nothing written to the store', async () => {
    const expiresAt = new Date(h.clock.nowMs() + 60_000).toISOString();
    assert.ok((await h.relay.admin.putGrant('test', { user: 'alice', vm: TEST_VM, expiresAt })).ok);
    await h.relay.guard.tick();
    const s = await pairedSession(h);
    try {
      await h.relay.guard.tick(); // checks the new session: still in force, and notes when it ends
      assert.equal(h.relay.sessionStats(s.session.sessionId)?.state, 'paired');
      const connectClosed = closed(s.connectWs);
      h.clock.advance(61_000);
      await h.relay.guard.tick();
      const c = await connectClosed;
      assert.equal(c.code, CloseCode.revoked);
      assert.match(c.reason, /withdrawn or expired/);
    } finally {
      s.agent.close();
      assert.ok((await h.relay.admin.putGrant('test', { user: 'alice', vm: TEST_VM })).ok);
    }
  });
});
