import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const child = join(dirname(fileURLToPath(import.meta.url)), 'testing', 'guarded-child.ts');
const run = (mode: string) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', child, mode], { encoding: 'utf8', timeout: 60_000 });
  return {
    ...r,
    events: r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
};

test('a stray rejection and exception are reported with their session, that session is aborted, the rest goes on', () => {
  const r = run('continue');
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.events, [
    { report: 'unhandledRejection', sid: 'bad', message: 'forgot to await' },
    { aborted: 'bad', reason: 'internal error in this session (a bug): forgot to await' },
    { report: 'uncaughtException', sid: 'bad', message: 'thrown from a callback' },
    { aborted: 'bad', reason: 'internal error in this session (a bug): thrown from a callback' },
    { done: 10 },
  ]);
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
