// Connect behind a bad network: it runs in a network namespace the test creates, joined to the
// relay through a user-space wire (support/lossy-wire.py) that delays every Ethernet frame 20 ms
// and loses 2 % of them — and, for 40 s, all of them (a partition nobody is told about). Output
// must arrive whole and in order, and a session must resume across the partition. Needs root,
// iproute2, ethtool and python3 (CI installs them); skipped with the reason elsewhere.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { airlockBin, startSystem, waitFor, type System } from './harness.js';
import { LossyLink, lossyLinkUnavailable } from './support/lossy-link.js';

const DELAY_MS = 20;
const LOSS = 0.02;
const unavailable = lossyLinkUnavailable();

let sys: System | undefined;
let link: LossyLink | undefined;

before(async () => {
  if (unavailable) return;
  link = await LossyLink.create({ delayMs: DELAY_MS, loss: LOSS });
  sys = await startSystem({ relayConfig: { host: link.hostAddress } });
});

after(async () => {
  await sys?.close();
  await link?.remove();
});

/** `airlock <args>` inside the namespace; stdin is written and closed. */
function airlockInNamespace(args: string[], stdin = '') {
  const [cmd, argv] = link!.exec([airlockBin, ...args]);
  const child = spawn(cmd, argv, { env: { ...process.env, ...sys!.cliEnv }, stdio: 'pipe' });
  const io = { out: '', err: '' };
  child.stdout.on('data', (d: Buffer) => (io.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (io.err += d.toString()));
  child.stdin.end(stdin);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { io, exited };
}

test(
  `a command's 14 MB of output over a wire that delays ${DELAY_MS} ms and loses ${LOSS * 100} % of frames: every byte once, in order`,
  { skip: unavailable, timeout: 120_000 },
  async () => {
    const n = 2_000_000;
    const before = await link!.stats();
    const run = airlockInNamespace(['exec', sys!.vm, '--', 'seq', '1', String(n)]);
    assert.equal(await run.exited, 0, `${run.io.err}\n${link!.log()}`);
    const expected = Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');
    assert.equal(run.io.out.length, expected.length);
    assert.ok(run.io.out === expected, 'the output is the sequence, whole and in order');
    // The wire was in the way and did lose frames (TCP sent them again).
    const after = await link!.stats();
    assert.ok(after.frames - before.frames > 5000, JSON.stringify({ before, after }));
    assert.ok(after.dropped - before.dropped > 0, JSON.stringify({ before, after }));
  },
);

test(
  'a shell across a 40 s partition on that wire (every frame lost): the session resumes, every line once and in order',
  { skip: unavailable, timeout: 150_000 },
  async () => {
    const lines = 50;
    const run = airlockInNamespace(
      ['shell', sys!.vm],
      // A shell without a terminal reads its commands from stdin; its end ends the shell.
      `i=1; while [ $i -le ${lines} ]; do echo line-$i; i=$((i+1)); sleep 1; done; exit 7\n`,
    );
    await waitFor(
      () => run.io.out.includes('line-3\n'),
      30_000,
      () => `the shell did not start: ${run.io.out} ${run.io.err}`,
    );
    link!.set({ loss: 1 });
    // The fault itself lasts this long: it is what is being tested, not a wait for an event. Long
    // enough that SSH's keep-alives (15 s, then 15 s for the answer) give the connection up: TCP
    // alone rides out a 30 s partition on this wire, and nothing would need resuming.
    await new Promise((r) => setTimeout(r, 40_000));
    link!.set({ loss: LOSS });
    assert.equal(await run.exited, 7, run.io.err);
    assert.deepEqual(
      run.io.out.trim().split('\n'),
      Array.from({ length: lines }, (_, i) => `line-${i + 1}`),
    );
    // The connection did drop (keep-alives failed) and the session was taken up again.
    assert.match(run.io.err, /resuming the session/);
    assert.match(run.io.err, /resumed after/);
  },
);
