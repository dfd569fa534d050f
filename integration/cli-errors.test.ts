import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli, startSystem, waitFor, type System } from './harness.js';

// What a user sees when something is wrong: one line that says what and what to do, exit 255.
let sys: System;
let empty: string;
before(async () => {
  empty = mkdtempSync(join(tmpdir(), 'airlock-nohome-'));
  sys = await startSystem();
});
after(async () => {
  await sys?.close();
  if (empty) rmSync(empty, { recursive: true, force: true });
});

test('not enrolled: says to run airlock enroll', async () => {
  const r = await runCli(['vms'], empty);
  assert.equal(r.code, 255);
  assert.match(r.stderr, /airlock enroll <relay-url> <code>/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('relay unreachable: names the URL and says to check it', async () => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  const home = mkdtempSync(join(tmpdir(), 'airlock-unreach-'));
  try {
    const code = `u1.${'A'.repeat(43)}.${'B'.repeat(43)}`;
    const r = await runCli(['enroll', `https://127.0.0.1:${port}`, code], home);
    assert.equal(r.code, 255);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.match(r.stderr, /relay/i);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('unknown VM: says which VMs can be listed', async () => {
  const r = await sys.cli(['exec', 'no-such-vm', '--', 'true']);
  assert.equal(r.code, 255);
  assert.match(r.stderr, /no-such-vm/);
  assert.match(r.stderr, /airlock vms/);
});

test('bad usage: a usage error, exit 2', async () => {
  const r = await sys.cli(['forward', sys.vm, 'not-a-port']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not-a-port/);
});

test('VM offline: says the agent is not connected', async () => {
  const before = await sys.cli(['vms', '--json']);
  assert.equal(before.code, 0);
  await sys.agent.stop();
  await waitFor(
    () => !sys.relay.isAgentOnline(sys.vm),
    10_000,
    () => 'agent still online',
  );
  const list = await sys.cli(['vms', '--json']);
  assert.match(list.stdout, /"online":\s*false/);
  const r = await sys.cli(['shell', sys.vm], { input: 'exit\n' });
  assert.equal(r.code, 255);
  assert.match(r.stderr, /offline/i);
  assert.match(r.stderr, /agent/i);
});
