import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRelayLogger } from './logger.js';
import { createRelay } from './relay.js';
import { RELAY_RESTARTED, STORE_FILE } from './relay-state.js';
import { openSqliteStore } from './store/sqlite-store.js';

test('sessions a killed relay left open are closed in the store and the audit log when it starts again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-restart-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const logger = createRelayLogger('silent');
  // A first run creates the data dir and its store, then goes away.
  await (await createRelay({ config: { port: 0, dataDir: dir }, logger })).close();

  // What a relay killed with SIGKILL leaves behind: a paired session and one still waiting for its
  // peer, neither with an end (the process never got to write one).
  const left = openSqliteStore(join(dir, STORE_FILE));
  for (const id of ['paired-1', 'pending-1'])
    await left.sessions.create({ id, user: 'alice', device: 'd1', vm: 'lab-vm', ports: [8888] });
  await left.sessions.markOpened('paired-1');
  await left.close();

  const relay = await createRelay({ config: { port: 0, dataDir: dir }, logger });
  t.after(() => relay.close());
  assert.deepEqual(await relay.store.sessions.listLive(), []);
  assert.equal((await relay.store.sessions.get('paired-1'))?.endReason, RELAY_RESTARTED);
  for (const [sid, paired] of [
    ['paired-1', true],
    ['pending-1', false],
  ] as const) {
    const closes = await relay.store.audit.query({ type: 'session.close', sid });
    assert.equal(closes.length, 1, `one close for ${sid}`);
    assert.equal(closes[0]!.actor, 'user:alice');
    assert.equal(closes[0]!.outcome, 'failure');
    assert.deepEqual(closes[0]!.data, { vm: 'lab-vm', paired, reason: RELAY_RESTARTED });
  }
  // Starting once more writes nothing new: those sessions have ended.
  await relay.close();
  const again = await createRelay({ config: { port: 0, dataDir: dir }, logger });
  t.after(() => again.close());
  assert.equal((await again.store.audit.query({ type: 'session.close' })).length, 2);
});
