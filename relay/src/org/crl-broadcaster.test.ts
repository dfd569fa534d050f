import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { AgentRegistry } from '../data/agent-registry.js';
import { CrlBroadcaster } from './crl-broadcaster.js';
import type { OrgView } from './org-view.js';

/** A broadcaster over a store whose list the test sets, and two connected agents that record what they are sent. */
function broadcasterWith(initial: { chain: string[]; seq: number } | undefined) {
  let current: { chain: string[]; seq: number } | undefined = initial;
  const sent: Array<{ vm: string; seq: number }> = [];
  const org = { crl: () => Promise.resolve(current) } as unknown as OrgView;
  const registry = {
    list: () => [{ vm: 'vm-a' }, { vm: 'vm-b' }],
    send: (vm: string, message: { type: string }) => {
      if (message.type === 'crl') sent.push({ vm, seq: current!.seq });
      return true;
    },
  } as unknown as AgentRegistry;
  const broadcaster = new CrlBroadcaster({ org, registry, logger: pino({ level: 'silent' }), intervalMs: 60_000 });
  return { broadcaster, sent, set: (seq: number) => (current = { chain: [`crl-${seq}`], seq }) };
}

test('the first list set after a start without one goes to every connected agent', async () => {
  const { broadcaster, sent, set } = broadcasterWith(undefined);
  await broadcaster.start();
  await broadcaster.tick();
  assert.equal(sent.length, 0);
  set(1);
  await broadcaster.tick();
  assert.deepEqual(sent, [
    { vm: 'vm-a', seq: 1 },
    { vm: 'vm-b', seq: 1 },
  ]);
  await broadcaster.tick();
  assert.equal(sent.length, 2, 'each list once');
  await broadcaster.close();
});

test('the list in force at start-up is not sent again (agents get it when they register); newer ones are', async () => {
  const { broadcaster, sent, set } = broadcasterWith({ chain: ['crl-3'], seq: 3 });
  await broadcaster.start();
  await broadcaster.tick();
  assert.equal(sent.length, 0);
  set(4);
  await broadcaster.tick();
  assert.deepEqual(
    sent.map((s) => s.seq),
    [4, 4],
  );
  await broadcaster.close();
});

test("after the anchor is replaced, the new organisation's first list is sent though its number is lower", async () => {
  const { broadcaster, sent, set } = broadcasterWith({ chain: ['old-org-crl-3'], seq: 3 });
  await broadcaster.start();
  set(1); // the new organisation's list 1
  await broadcaster.tick();
  assert.deepEqual(
    sent.map((s) => s.seq),
    [1, 1],
  );
  await broadcaster.close();
});
