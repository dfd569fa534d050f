import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const child = join(dirname(fileURLToPath(import.meta.url)), 'testing', 'guarded-child.ts');
const run = (mode: string, nodeFlags: string[] = []) => {
  const r = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', child, mode], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return {
    ...r,
    events: r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
};

// The long-running programs run on Node 22 with AsyncLocalStorage on V8's context frames
// (scripts/long-running-node-flags), Node 24 does so by default, and other Nodes on async hooks:
// both are run, each with the flag that picks it on this Node.
const allowed = process.allowedNodeEnvironmentFlags;
const onNode24 = allowed.has('--no-async-context-frame');
const storageModes: Array<['async hooks' | 'context frames', string[]]> = [
  ['async hooks', onNode24 ? ['--no-async-context-frame'] : []],
];
if (onNode24) storageModes.push(['context frames', []]);
else if (allowed.has('--experimental-async-context-frame'))
  storageModes.push(['context frames', ['--experimental-async-context-frame']]);

for (const [storage, flags] of storageModes)
  test(`a stray rejection and exception are reported with their session, that session is aborted, the rest goes on (${storage})`, () => {
    const r = run('continue', flags);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.events, [
      { report: 'unhandledRejection', sid: 'bad', message: 'forgot to await' },
      { aborted: 'bad', reason: 'internal error in this session (a bug): forgot to await' },
      { report: 'uncaughtException', sid: 'bad', message: 'thrown from a callback' },
      { aborted: 'bad', reason: 'internal error in this session (a bug): thrown from a callback' },
      { done: 10 },
    ]);
  });

for (const [storage, flags] of storageModes)
  test(`a promise made in one session and rejected in another is blamed by the storage's rule (${storage})`, () => {
    const r = run('deferred', flags);
    assert.equal(r.status, 0, r.stderr);
    const outside = { report: 'unhandledRejection', message: 'made in bad, rejected outside' };
    const inBad = { report: 'unhandledRejection', message: 'made outside, rejected in bad' };
    const abort = (message: string) => ({
      aborted: 'bad',
      reason: `internal error in this session (a bug): ${message}`,
    });
    // Async hooks: the session the promise was made in. Context frames: the one it was rejected in
    // (README, design notes: the long-running programs use context frames).
    assert.deepEqual(
      r.events,
      storage === 'async hooks'
        ? [{ ...outside, sid: 'bad' }, abort(outside.message), inBad, { done: true }]
        : [outside, { ...inBad, sid: 'bad' }, abort(inBad.message), { done: true }],
    );
  });

test('a one-shot program exits with the chosen code after an uncaught exception', () => {
  const r = run('exit');
  assert.equal(r.status, 70);
  assert.deepEqual(r.events.at(-1), {
    aborted: 'bad',
    reason: 'internal error in this session (a bug): thrown from a callback',
  });
  assert.ok(!r.events.some((e) => 'done' in e));
});
