import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SIGNALS = fileURLToPath(new URL('./signals.ts', import.meta.url));

/**
 * A command whose close never finishes: its handler starts closing and hangs (an interval keeps
 * the process alive, as a stuck socket would). Prints "ready" once the handlers are in.
 */
function hangingCommand(closeMs: number) {
  const code = `
    import { onTerminationSignals } from ${JSON.stringify(SIGNALS)};
    setInterval(() => {}, 1000);
    onTerminationSignals(() => process.stdout.write('closing\\n'), ${closeMs});
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
  const printed = async (what: string) => {
    while (!out.includes(what)) await new Promise((r) => setTimeout(r, 20));
  };
  return { child, exited, printed, err: () => err };
}

test('a close that hangs after SIGTERM ends the command after the grace time, with 143 and a reason', async () => {
  const c = hangingCommand(400);
  await c.printed('ready');
  const sent = Date.now();
  c.child.kill('SIGTERM');
  await c.printed('closing');
  const [code] = await c.exited;
  assert.equal(code, 143);
  assert.ok(Date.now() - sent >= 350, 'not before the grace time');
  assert.match(c.err(), /did not close within 400 ms of SIGTERM; exiting/);
});

test('a second Ctrl-C exits at once, with the first signal’s code', async () => {
  const c = hangingCommand(60_000);
  await c.printed('ready');
  c.child.kill('SIGINT');
  await c.printed('closing');
  c.child.kill('SIGINT');
  const [code] = await c.exited;
  assert.equal(code, 130);
  assert.match(c.err(), /SIGINT again; exiting without closing/);
});
