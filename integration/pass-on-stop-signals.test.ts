// `npm run desktop` passes stop signals on to Electron, whose graceful quit is one shot: each
// stop request must reach it once. Tested with a real child that reports the signals it gets
// (Electron itself cannot run on these machines).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { test } from 'node:test';
import { within } from '@airlock/shared/testing';
import { passOnStopSignals, type StopSignal } from '../scripts/tasks/pass-on-stop-signals.js';

const COPY_WINDOW_MS = 100;
const REPEAT_AFTER_MS = 500;

/** A child that prints each stop signal it receives; the test's own signals are simulated. */
async function setUp() {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "for (const s of ['SIGINT','SIGTERM','SIGHUP']) process.on(s, () => console.log(s)); console.log('ready'); setInterval(() => {}, 1000);",
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await within(once(child.stdout, 'data'), 10_000, 'the child to start');
  const signals = new EventEmitter();
  passOnStopSignals(child, (signal, handler) => signals.on(signal, handler), {
    copyWindowMs: COPY_WINDOW_MS,
    repeatAfterMs: REPEAT_AFTER_MS,
  });
  const received = () => out.split('\n').filter((l) => l.startsWith('SIG'));
  const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const send = (s: StopSignal) => signals.emit(s);
  return { child, received, settle, send };
}

test('a signal sent to this task alone is passed on once', async (t) => {
  const { child, received, settle, send } = await setUp();
  t.after(() => void child.kill('SIGKILL'));
  send('SIGTERM');
  await settle(COPY_WINDOW_MS * 4);
  assert.deepEqual(received(), ['SIGTERM']);
});

test('a signal sent to the whole job (two copies at once) is not passed on: the child got its own', async (t) => {
  const { child, received, settle, send } = await setUp();
  t.after(() => void child.kill('SIGKILL'));
  send('SIGINT');
  send('SIGINT');
  await settle(COPY_WINDOW_MS * 4);
  assert.deepEqual(received(), []);
  // A repeated request later on is passed on, so that the child stops at once.
  await settle(REPEAT_AFTER_MS);
  send('SIGINT');
  await settle(COPY_WINDOW_MS * 2);
  assert.deepEqual(received(), ['SIGINT']);
});
