// A laptop that sleeps: the `airlock shell` process is stopped (SIGSTOP) for 60 s and continued.
// The relay gives up on its silent connection meanwhile; on waking, Connect resumes the session
// and the shell's output continues, every line once and in order, and its exit status comes back.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSystem, waitFor, type System } from './harness.js';

const LINES = 12;
const SLEEP_MS = 60_000;

let sys: System;

before(async () => {
  // The relay's pings (and so its giving up on a silent side) every 5 s instead of 20.
  sys = await startSystem({ relayConfig: { pingIntervalMs: 5000 } });
});

after(() => sys?.close());

test(
  'Connect stopped for 60 s (a laptop asleep), then continued: the shell carries on where it was',
  { timeout: 150_000 },
  async () => {
    const child = sys.spawnCli(['shell', sys.vm]);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Two lines now; the rest after the relay has given up on the sleeping laptop (about 25 s into
    // the sleep), so they can only arrive through a resumed session.
    child.stdin!.end(
      `echo line-1; echo line-2; sleep 40; i=3; while [ $i -le ${LINES} ]; do echo line-$i; i=$((i+1)); done; exit 5\n`,
    );
    await waitFor(
      () => out.includes('line-2\n'),
      30_000,
      () => `the shell did not start: ${out} ${err}`,
    );
    child.kill('SIGSTOP');
    // The sleep itself: the fault under test, not a wait for an event.
    await new Promise((r) => setTimeout(r, SLEEP_MS));
    child.kill('SIGCONT');
    assert.equal(await exited, 5, err);
    assert.deepEqual(
      out.trim().split('\n'),
      Array.from({ length: LINES }, (_, i) => `line-${i + 1}`),
    );
    assert.match(err, /resumed after/);
  },
);
