// A shell session across a real partition: Connect runs in a network namespace the test creates,
// joined to the relay by a veth pair; the link goes down for 30 s (packets dropped, nobody told),
// then comes back. The shell's output must continue with every line once, in order. Needs root
// and iproute2 (CI has both); skipped with the reason elsewhere.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { airlockBin, startSystem, waitFor, type System } from './harness.js';
import { NetnsLink, netnsUnavailable } from './support/netns.js';

const LINES = 50;
const PARTITION_MS = 30_000;
const unavailable = netnsUnavailable();

let sys: System | undefined;
let link: NetnsLink | undefined;

before(async () => {
  if (unavailable) return;
  link = NetnsLink.create();
  sys = await startSystem({ relayConfig: { host: link.hostAddress } });
});

after(async () => {
  await sys?.close();
  link?.remove();
});

test(
  "a shell's output continues across a 30 s partition, every line once and in order",
  { skip: unavailable, timeout: 150_000 },
  async () => {
    const [cmd, args] = link!.exec([airlockBin, 'shell', sys!.vm]);
    const child = spawn(cmd, args, { env: { ...process.env, ...sys!.cliEnv }, stdio: 'pipe' });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // A shell without a terminal reads its commands from stdin; its end ends the shell.
    child.stdin.end(`i=1; while [ $i -le ${LINES} ]; do echo line-$i; i=$((i+1)); sleep 1; done; exit 7\n`);
    await waitFor(
      () => out.includes('line-3\n'),
      30_000,
      () => `the shell did not start: ${out} ${err}`,
    );
    link!.down(true);
    // The fault itself lasts this long: it is what is being tested, not a wait for an event.
    await new Promise((r) => setTimeout(r, PARTITION_MS));
    link!.down(false);
    assert.equal(await exited, 7, err);
    const lines = out.trim().split('\n');
    assert.deepEqual(
      lines,
      Array.from({ length: LINES }, (_, i) => `line-${i + 1}`),
    );
    // The connection did drop (keep-alives failed) and the session was taken up again.
    assert.match(err, /resuming the session/);
    assert.match(err, /resumed after/);
  },
);
