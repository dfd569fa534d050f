import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { within } from './testing/index.js';
import type { TerminationPolicy } from './termination-signals.js';

const MODULE = JSON.stringify(new URL('./termination-signals.ts', import.meta.url).href);

/**
 * A program whose close never finishes: its handler prints "closing <code>" and hangs (an interval
 * keeps the process alive, as a stuck socket would). Prints "ready" once the handlers are in.
 */
function hangingClose(policy: TerminationPolicy) {
  const code = `
    const { onTerminationSignals } = await import(${MODULE});
    setInterval(() => {}, 1000);
    onTerminationSignals((signal, code) => process.stdout.write('closing ' + code + '\\n'), ${JSON.stringify(policy)});
    process.stdout.write('ready\\n');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const printed = (what: string) =>
    within(
      (async () => {
        while (!out.includes(what)) await new Promise((r) => setTimeout(r, 20));
      })(),
      20_000,
      `"${what}" on stdout`,
    );
  return {
    child,
    exited: () => within(exited, 20_000, 'the program to exit'),
    printed,
    out: () => out,
    err: () => err,
  };
}

test('a close that hangs after SIGTERM ends the program after the grace time, with 143 and a reason', async () => {
  const c = hangingClose({ program: 'airlock', graceMs: 400, secondSignal: 'exit' });
  await c.printed('ready');
  const sent = Date.now();
  c.child.kill('SIGTERM');
  await c.printed('closing 143');
  const [code] = await c.exited();
  assert.equal(code, 143);
  assert.ok(Date.now() - sent >= 350, 'not before the grace time');
  assert.match(c.err(), /airlock: did not close within 400 ms of SIGTERM; exiting/);
});

test('exit policy: a second Ctrl-C exits at once, with the first signal’s code', async () => {
  const c = hangingClose({ program: 'airlock', graceMs: 60_000, secondSignal: 'exit' });
  await c.printed('ready');
  c.child.kill('SIGINT');
  await c.printed('closing 130');
  c.child.kill('SIGINT');
  const [code] = await c.exited();
  assert.equal(code, 130);
  assert.match(c.err(), /airlock: SIGINT again; exiting without closing/);
});

test('wait policy: a second signal neither exits nor runs the handler again; the grace time ends it with the first code', async () => {
  const c = hangingClose({ program: 'tool', graceMs: 1500, secondSignal: 'wait' });
  await c.printed('ready');
  c.child.kill('SIGINT');
  await c.printed('closing 130');
  c.child.kill('SIGTERM');
  const [code] = await c.exited();
  assert.equal(code, 130, 'the first signal decides the code');
  assert.equal(c.out().match(/closing/g)?.length, 1, 'the handler ran once');
  assert.doesNotMatch(c.err(), /again/);
  assert.match(c.err(), /tool: did not close within 2 s of SIGINT; exiting/);
});
