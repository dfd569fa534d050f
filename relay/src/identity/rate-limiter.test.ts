import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVERY_KEY, FailureLimiter, OVERFLOW_KEY, RequestRateLimiter } from './rate-limiter.js';

test('a key is locked after maxFailures in the window, then released after the lockout', () => {
  let now = 1_000_000;
  const l = new FailureLimiter({ maxFailures: 3, windowMs: 60_000, lockoutMs: 300_000 }, () => now);
  assert.equal(l.fail('user:a'), false);
  assert.equal(l.fail('user:a'), false);
  assert.deepEqual(l.check('user:a'), { allowed: true });
  assert.equal(l.fail('user:a'), true);
  assert.deepEqual(l.check('user:a'), { allowed: false, retryAfterSeconds: 300 });
  assert.deepEqual(l.check('user:b'), { allowed: true }, 'other keys are unaffected');
  now += 300_001;
  assert.deepEqual(l.check('user:a'), { allowed: true });
});

test('failures outside the window do not add up, and a success clears the count', () => {
  let now = 0;
  const l = new FailureLimiter({ maxFailures: 2, windowMs: 10_000, lockoutMs: 1000 }, () => now);
  l.fail('k');
  now += 10_001;
  assert.equal(l.fail('k'), false, 'the first failure fell out of the window');
  l.succeed('k');
  assert.equal(l.fail('k'), false);
});

test('the tracked key count stays bounded', () => {
  const l = new FailureLimiter({ maxFailures: 5, windowMs: 1000, lockoutMs: 1000 }, () => 0, 10);
  for (let i = 0; i < 50; i++) l.fail(`ip:${i}`);
  // Ten, and the count shared by keys that found no room (a table is swept at most once a second).
  assert.ok((l as unknown as { entries: Map<string, unknown> }).entries.size <= 11);
});

test('the request limiter refuses past the per-window budget and resets with the window', () => {
  let now = 0;
  const r = new RequestRateLimiter(2, 1000, () => now);
  assert.equal(r.take('ip:x').allowed, true);
  assert.equal(r.take('ip:x').allowed, true);
  assert.deepEqual(r.take('ip:x'), { allowed: false, retryAfterSeconds: 1, firstDenied: true });
  assert.deepEqual(r.take('ip:x'), { allowed: false, retryAfterSeconds: 1, firstDenied: false });
  now = 1000;
  assert.equal(r.take('ip:x').allowed, true);
});

test('a spray of fresh keys frees no lockout: the oldest unlocked keys make room instead', () => {
  let now = 0;
  const l = new FailureLimiter({ maxFailures: 2, windowMs: 60_000, lockoutMs: 300_000 }, () => now, 10);
  l.fail('ip:locked');
  assert.equal(l.fail('ip:locked'), true);
  for (let i = 0; i < 100; i++, now += 1000) l.fail(`ip:spray-${i}`);
  assert.equal(l.check('ip:locked').allowed, false, 'still locked out');
  assert.ok((l as unknown as { entries: Map<string, unknown> }).entries.size <= 11);
});

test('a spray of fresh keys gives an exhausted source no fresh budget', () => {
  let now = 0;
  const r = new RequestRateLimiter(2, 3_600_000, () => now, 10);
  r.take('ip:busy');
  r.take('ip:busy');
  assert.equal(r.take('ip:busy').allowed, false);
  // Far past the bound, a second apart: counts with budget left make room, the exhausted one stays.
  for (let i = 0; i < 100; i++, now += 1000) r.take(`ip:spray-${i}`);
  assert.equal(r.take('ip:busy').allowed, false, 'still out of budget for this window');
  assert.ok((r as unknown as { counts: Map<string, unknown> }).counts.size <= 11);
  // A counted spray key keeps its count while it is among the kept ones.
  assert.equal(r.take('ip:spray-99').allowed, true);
  assert.equal(r.take('ip:spray-99').allowed, false);
});

test('a table full of lockouts counts every further source as one: a spray of addresses cannot guess without limit', () => {
  let now = 0;
  const l = new FailureLimiter({ maxFailures: 2, windowMs: 60_000, lockoutMs: 300_000 }, () => now, 10);
  for (let i = 0; i < 10; i++) {
    l.fail(`ip:locked-${i}`);
    assert.equal(l.fail(`ip:locked-${i}`), true);
  }
  assert.deepEqual(l.check('ip:fresh-0'), { allowed: true });
  assert.equal(l.fail('ip:fresh-0'), false);
  assert.equal(l.fail('ip:fresh-1'), true, 'two failures from two fresh sources lock the shared count');
  assert.equal(l.check('ip:fresh-2').allowed, false, 'a third fresh source is refused');
  assert.equal(l.check('ip:locked-3').allowed, false, 'the tracked lockouts stay');
  assert.ok((l as unknown as { entries: Map<string, unknown> }).entries.size <= 11);
  // Once the lockouts are over there is room again: each source counts on its own.
  now += 300_001;
  assert.equal(l.fail('ip:fresh-3'), false);
  assert.deepEqual(l.check('ip:fresh-4'), { allowed: true });
});

test('a table full of exhausted sources gives every further source one shared budget', () => {
  let now = 0;
  const r = new RequestRateLimiter(2, 60_000, () => now, 10);
  for (let i = 0; i < 10; i++) for (let n = 0; n < 3; n++) r.take(`ip:busy-${i}`);
  assert.equal(r.take('ip:fresh-0').allowed, true);
  assert.equal(r.take('ip:fresh-1').allowed, true);
  assert.equal(r.take('ip:fresh-2').allowed, false, 'the shared budget is used up');
  assert.equal(r.peek('ip:fresh-3').allowed, false);
  assert.equal(r.take('ip:busy-4').allowed, false, 'an exhausted source stays exhausted');
  now += 60_000;
  assert.equal(r.take('ip:fresh-2').allowed, true, 'a new window makes room');
});

test('a full table whose lockouts have all ended refuses no new source, even asked before any failure', () => {
  let now = 0;
  const l = new FailureLimiter({ maxFailures: 2, windowMs: 60_000, lockoutMs: 300_000 }, () => now, 10);
  for (let i = 0; i < 10; i++) {
    l.fail(`ip:locked-${i}`);
    l.fail(`ip:locked-${i}`);
  }
  now = 290_000;
  l.fail('ip:fresh-0');
  assert.equal(l.fail('ip:fresh-1'), true, 'the shared count locked at 290 s');
  assert.deepEqual(l.check('ip:fresh-2'), { allowed: false, retryAfterSeconds: 300, shared: true });
  // At 300 s every tracked lockout has ended: a source that only asks is not refused.
  now = 300_001;
  assert.deepEqual(l.check('ip:honest'), { allowed: true });
});

test('the request limiter says when a refusal comes from the shared count', () => {
  const r = new RequestRateLimiter(1, 60_000, () => 0, 2);
  for (const k of ['ip:a', 'ip:b']) for (let n = 0; n < 2; n++) r.take(k);
  assert.deepEqual(r.take('ip:c'), { allowed: true });
  assert.deepEqual(r.take('ip:d'), { allowed: false, retryAfterSeconds: 60, firstDenied: true, shared: true });
  assert.deepEqual(r.peek('ip:e'), { allowed: false, retryAfterSeconds: 60, shared: true });
  assert.deepEqual(r.peek('ip:a'), { allowed: false, retryAfterSeconds: 60 }, 'its own count: not shared');
});

test('a full table that can make room shares no count, however many new sources come in one second', () => {
  const l = new FailureLimiter({ maxFailures: 2, windowMs: 60_000, lockoutMs: 300_000 }, () => 0, 100);
  for (let i = 0; i < 100; i++) l.fail(`ip:once-${i}`);
  // None locked: each new source takes the room of an old one, none is counted on the shared key.
  for (let i = 0; i < 300; i++) l.fail(`ip:new-${i}`);
  assert.equal((l as unknown as { entries: Map<string, unknown> }).entries.has(OVERFLOW_KEY), false);
  assert.deepEqual(l.check('ip:honest'), { allowed: true });
  const r = new RequestRateLimiter(2, 60_000, () => 0, 100);
  for (let i = 0; i < 400; i++) r.take(`ip:new-${i}`);
  assert.equal((r as unknown as { counts: Map<string, unknown> }).counts.has(OVERFLOW_KEY), false);
});

test('a table of lockouts but one is not walked again for every new source', () => {
  const l = new FailureLimiter({ maxFailures: 2, windowMs: 60_000, lockoutMs: 300_000 }, () => 0, 1000);
  for (let i = 0; i < 999; i++) for (let n = 0; n < 2; n++) l.fail(`ip:locked-${i}`);
  l.fail('ip:once'); // the one entry a sweep can free
  const entries = (l as unknown as { entries: Map<string, unknown> }).entries;
  // Count the walks: a sweep iterates the whole table.
  let walks = 0;
  const iterate = entries[Symbol.iterator].bind(entries);
  entries[Symbol.iterator] = () => (walks++, iterate());
  for (let i = 0; i < 200; i++) {
    l.check(`ip:new-${i}`);
    l.fail(`ip:new-${i}`);
  }
  assert.ok(walks <= 4, `${walks} walks of the table for 200 new sources in one second`);
});

test("an administrator's release forgets one source's lockout, or every one and the shared one", () => {
  const l = new FailureLimiter({ maxFailures: 1, windowMs: 60_000, lockoutMs: 300_000 }, () => 0, 2);
  l.fail('ip:a');
  l.fail('ip:b');
  l.fail('ip:c'); // counted on the shared key: the table holds two
  assert.equal(l.check('ip:a').allowed, false);
  assert.equal(l.release('ip:a'), 1);
  assert.deepEqual(l.check('ip:a'), { allowed: true });
  assert.equal(l.check('ip:b').allowed, false, 'another source stays locked out');
  assert.equal(l.release('ip:a'), 0, 'nothing left to forget');
  // Room again (a was released): a new source is counted on its own, so not refused.
  assert.deepEqual(l.check('ip:z'), { allowed: true });
  l.fail('ip:a');
  assert.deepEqual(l.check('ip:z'), { allowed: false, retryAfterSeconds: 300, shared: true });
  assert.deepEqual(
    l.lockedOut().map((h) => h.key),
    ['ip:b', OVERFLOW_KEY, 'ip:a'],
    'the list an administrator sees names the shared lockout',
  );
  assert.equal(l.release(EVERY_KEY), 3, 'a, b and the shared lockout');
  assert.deepEqual(l.lockedOut(), []);
  for (const key of ['ip:a', 'ip:b', 'ip:z']) assert.deepEqual(l.check(key), { allowed: true });
});

test("an administrator's release gives a source, or every source, its budget back", () => {
  const r = new RequestRateLimiter(1, 60_000, () => 0, 2);
  for (const key of ['ip:a', 'ip:b', 'ip:c']) for (let n = 0; n < 2; n++) r.take(key);
  assert.equal(r.release('ip:a'), 1);
  assert.equal(r.take('ip:a').allowed, true);
  assert.equal(r.take('ip:b').allowed, false);
  assert.equal(r.peek('ip:z').allowed, false, 'the shared budget is used up');
  assert.equal(r.release(EVERY_KEY), 3, 'a, b and the shared budget');
  for (const key of ['ip:b', 'ip:z']) assert.equal(r.take(key).allowed, true);
});
