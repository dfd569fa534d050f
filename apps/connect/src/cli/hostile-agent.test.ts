// `airlock` against a VM side that sends garbage: one-shot commands fail with a clear message and
// exit 255; a long-running `airlock forward` reports it, keeps its listeners and reconnects.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { portOf, sendAndHalfClose, startDigestService } from '@airlock/shared/testing';
import { enrolledHome } from '../core/test-support/enrolled-home.js';
import { startFakeRelay, type FakeRelay } from '../core/test-support/fake-relay.js';
import { AIRLOCK, airlock, pastNotice } from './test-support/run-airlock.js';

const TIMEOUT = { timeout: 60_000 };

let home: string;
let relay: FakeRelay;
let svc: Server;
let svcPort: number;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlock-hostile-'));
  svc = await startDigestService();
  svcPort = portOf(svc);
  relay = await startFakeRelay({ ports: [svcPort] });
  await enrolledHome(relay, home);
});

after(async () => {
  await relay?.close();
  svc?.close();
  await rm(home, { recursive: true, force: true });
});

test('exec against an agent that answers with junk: a clear error, exit 255, no stack trace', TIMEOUT, async () => {
  relay.hostileAgent = (ws) => ws.send(Buffer.alloc(300, 'A'));
  try {
    const r = await airlock(home, ['exec', 'demo-vm', '--', 'true']);
    assert.equal(r.code, 255, r.stderr);
    assert.match(
      pastNotice(r),
      /^airlock: the session to demo-vm was closed: the other end sent data that is not valid SSH \(Failed to read the protocol version\) \[session [0-9a-f-]{36}\] — try again; if it keeps happening, give your admin the session id/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  } finally {
    relay.hostileAgent = undefined;
  }
});

test(
  'forward: junk mid-session and at the next handshake; the process stays, the same port works again',
  TIMEOUT,
  async () => {
    const child = spawn(AIRLOCK, ['forward', 'demo-vm', `${svcPort}:0`, '--json'], {
      env: { ...process.env, AIRLOCK_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const waitFor = async (what: () => boolean, label: string) => {
      const deadline = Date.now() + 20_000;
      while (!what()) {
        if (child.exitCode !== null)
          throw new Error(`airlock forward exited (${child.exitCode}) waiting for ${label}: ${stderr}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}; stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    try {
      await waitFor(() => out.includes('\n'), 'the forward line');
      const { localPort } = JSON.parse(out.split('\n')[0]!) as { localPort: number };
      const payload = randomBytes(50_000);
      const expected = `${payload.length}:${createHash('sha256').update(payload).digest('hex')}`;
      assert.equal(await sendAndHalfClose(localPort, payload), expected);

      // The next session's handshake meets junk once; then the agent behaves again.
      relay.hostileAgent = (ws) => {
        relay.hostileAgent = undefined;
        ws.send(Buffer.alloc(300, 'A'));
      };
      // Bytes that cannot pass the session's MAC, injected into the live session.
      relay.dataSockets.at(-1)!.send(Buffer.concat([Buffer.from([0, 0, 0, 32]), randomBytes(48)]));

      await waitFor(() => /reconnected to demo-vm/.test(stderr), 'the reconnect');
      assert.match(stderr, /not valid SSH .*\[session [0-9a-f-]{36}\]; reconnecting \(forwards stay open\)/);
      assert.match(stderr, /not valid SSH \(Failed to read the protocol version\).*; retrying in 1 s/);
      assert.equal(child.exitCode, null);
      assert.equal(await sendAndHalfClose(localPort, payload), expected);
      assert.doesNotMatch(stderr, /internal error|\n\s+at /);
    } finally {
      child.kill('SIGTERM');
    }
  },
);
