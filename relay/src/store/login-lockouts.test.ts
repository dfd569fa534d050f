import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openSqliteStore } from './sqlite-store.js';
import { storeError } from './test-support/assertions.js';
import { tmpStore } from './test-support/tmp-store.js';

const POLICY = { maxFailures: 3, windowMs: 60_000, lockoutMs: 600_000 };
const at = (ms: number) => new Date(Date.parse('2030-01-01T00:00:00.000Z') + ms);

test('login lockouts: failures within the window lock the user; older ones are forgotten', async (t) => {
  const { store } = await tmpStore(t);
  await store.users.create('alice');
  assert.deepEqual(await store.loginLockouts.recordFailure('alice', at(0), POLICY), {});
  // 61 s later the first failure is out of the window: two recent ones do not lock yet.
  assert.deepEqual(await store.loginLockouts.recordFailure('alice', at(30_000), POLICY), {});
  assert.deepEqual(await store.loginLockouts.recordFailure('alice', at(61_000), POLICY), {});
  assert.equal(await store.loginLockouts.lockedUntil('alice', at(61_000)), undefined);
  const third = await store.loginLockouts.recordFailure('alice', at(62_000), POLICY);
  assert.deepEqual(third, { lockedUntil: at(662_000) });
  assert.deepEqual(await store.loginLockouts.lockedUntil('alice', at(100_000)), at(662_000));
  assert.deepEqual(await store.loginLockouts.listLocked(at(100_000)), [
    { user: 'alice', lockedUntil: at(662_000).toISOString() },
  ]);
  // The lock ends by itself.
  assert.equal(await store.loginLockouts.lockedUntil('alice', at(662_000)), undefined);
  assert.deepEqual(await store.loginLockouts.listLocked(at(662_000)), []);
});

test('login lockouts: clear forgets failures and the lock, and says what it cleared', async (t) => {
  const { store } = await tmpStore(t);
  await store.users.create('alice');
  for (let i = 0; i < 3; i++) await store.loginLockouts.recordFailure('alice', at(i), POLICY);
  assert.deepEqual(await store.loginLockouts.clear('alice', at(10)), { wasLocked: true, failures: 0 });
  assert.equal(await store.loginLockouts.lockedUntil('alice', at(10)), undefined);
  assert.deepEqual(await store.loginLockouts.clear('alice', at(10)), { wasLocked: false, failures: 0 });
  await store.loginLockouts.recordFailure('alice', at(20), POLICY);
  assert.deepEqual(await store.loginLockouts.clear('alice', at(30)), { wasLocked: false, failures: 1 });
  // After a clear, counting starts from zero again.
  await store.loginLockouts.recordFailure('alice', at(40), POLICY);
  assert.deepEqual(await store.loginLockouts.recordFailure('alice', at(50), POLICY), {});
});

test('login lockouts: a lock written by one connection is seen and cleared by another (relay and admin CLI)', async (t) => {
  const { store, path } = await tmpStore(t);
  const cli = openSqliteStore(path);
  t.after(() => cli.close());
  await store.users.create('alice');
  for (let i = 0; i < 3; i++) await store.loginLockouts.recordFailure('alice', at(i), POLICY);
  assert.ok(await cli.loginLockouts.lockedUntil('alice', at(10)));
  assert.equal((await cli.loginLockouts.clear('alice', at(10))).wasLocked, true);
  assert.equal(await store.loginLockouts.lockedUntil('alice', at(10)), undefined);
});

test('login lockouts: concurrent failures from two connections are all counted', async (t) => {
  const { store, path } = await tmpStore(t);
  const other = openSqliteStore(path);
  t.after(() => other.close());
  await store.users.create('alice');
  const policy = { ...POLICY, maxFailures: 10 };
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).loginLockouts.recordFailure('alice', at(i), policy)),
  );
  assert.equal(results.filter((r) => r.lockedUntil).length, 1, 'exactly the tenth failure starts the lock');
  assert.ok(await store.loginLockouts.lockedUntil('alice', at(20)));
});

test('login lockouts: only known users, and a bad policy is refused', async (t) => {
  const { store } = await tmpStore(t);
  await assert.rejects(store.loginLockouts.recordFailure('nobody', at(0), POLICY));
  await store.users.create('alice');
  await assert.rejects(
    store.loginLockouts.recordFailure('alice', at(0), { ...POLICY, maxFailures: 0 }),
    storeError('invalid'),
  );
});
