import assert from 'node:assert/strict';
import { test } from 'node:test';
import { within } from '@airlock/shared/testing';
import type { SessionCloseStats } from './observer.js';
import { ResumeWindows } from './resume-windows.js';

function windows(windowMs: number) {
  const ended: SessionCloseStats[] = [];
  let wake: (() => void) | undefined;
  const w = new ResumeWindows({
    windowMs,
    onEnded: (stats) => {
      ended.push(stats);
      wake?.();
    },
  });
  const nextEnd = () => new Promise<void>((resolve) => (wake = resolve));
  return { w, ended, nextEnd };
}

test('a session not resumed within its window is recorded as closed, saying so; a resumed one is not', async () => {
  const { w, ended, nextEnd } = windows(50);
  w.hold('s1', 'vm-a', 'alice');
  w.hold('s2', 'vm-b', 'bob');
  assert.deepEqual([w.size, w.ids()], [2, ['s1', 's2']]);
  w.release('s2'); // resumed
  await within(nextEnd(), 10_000, 's1 to run out of its window');
  assert.equal(w.size, 0);
  assert.equal(ended.length, 1);
  const { durationMs, ...rest } = ended[0]!;
  assert.ok(durationMs >= 0);
  assert.deepEqual(rest, {
    sid: 's1',
    vm: 'vm-a',
    user: 'alice',
    paired: true,
    bytesUp: 0,
    bytesDown: 0,
    reason: 'not resumed within 0 s of its connection dropping',
  });
});

test('a waiting session ended (revocation) is recorded at once with its reason; shutdown records nothing', () => {
  const { w, ended } = windows(60_000);
  w.hold('s1', 'vm-a', 'alice');
  w.hold('s2', 'vm-a', 'alice');
  assert.equal(w.end('s1', 'device revoked'), true);
  assert.equal(w.end('s1', 'device revoked'), false, 'only once');
  assert.equal(w.end('nope', 'x'), false);
  assert.deepEqual(
    ended.map((e) => [e.sid, e.reason]),
    [['s1', 'device revoked']],
  );
  // Held again (a second drop) restarts its window rather than holding it twice.
  w.hold('s2', 'vm-a', 'alice');
  assert.equal(w.size, 1);
  w.releaseAll();
  assert.equal(w.size, 0);
  assert.equal(ended.length, 1, 'the next start closes them, as "relay restarted"');
});
