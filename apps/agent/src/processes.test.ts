import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sessionMembers } from './processes.js';

/** A /proc look-alike: `stat` lines as the kernel writes them ("pid (comm) state ppid pgrp session …"). */
function fakeProc(entries: Record<string, string | null>): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-proc-'));
  for (const [name, stat] of Object.entries(entries)) {
    mkdirSync(join(dir, name));
    if (stat !== null) writeFileSync(join(dir, name, 'stat'), stat);
  }
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test('sessionMembers reads the session id after the last ")" of the command name, and leaves out zombies', async () => {
  using proc = fakeProc({
    '100': '100 (bash) S 1 100 100 0 -1',
    '101': '101 (odd) name) (x) S 100 101 100 0 -1', // a command name with spaces and parentheses
    '102': '102 (sleep) Z 100 100 100 0 -1', // exited, not yet reaped: nothing to signal
    '103': '103 (other) S 1 103 103 0 -1', // another session
    '104': null, // gone between the listing and the read
    self: '1 (not a pid) S 0 1 100 0 -1',
  });
  assert.deepEqual((await sessionMembers(100, proc.dir)).sort(), [100, 101]);
  assert.deepEqual(await sessionMembers(100, join(proc.dir, 'missing')), []);
});

test("sessionMembers finds a command's background job, and lets the event loop run while it reads /proc", async () => {
  // detached: the child is a session leader (setsid), as the agent starts every user process.
  const child = spawn('sh', ['-c', 'sleep 30 & echo $!; wait'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const jobPid = await new Promise<number>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(Number(d))));
    let turned = false;
    setImmediate(() => (turned = true));
    const members = await sessionMembers(child.pid!);
    assert.ok(turned, 'the event loop ran while /proc was read');
    assert.deepEqual(members.sort(), [child.pid!, jobPid].sort());
  } finally {
    process.kill(-child.pid!, 'SIGKILL');
  }
});
