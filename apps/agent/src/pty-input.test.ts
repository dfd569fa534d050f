import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as pty from 'node-pty';
import { BULK_WINDOW_BYTES, ptyRequest } from '@airlock/shared/ssh';
import { PtyInput } from './pty-input.js';
import {
  collect,
  connectClient,
  sendUntilStalled,
  withOnlineAgent,
  withTimeout,
  execRequest as exec,
} from './testing/harness.js';

test('terminal input to a program that does not read waits in the client, not in the agent: the window runs dry', async () => {
  await withOnlineAgent({ shell: '/bin/sh' }, async ({ relay, agent }) => {
    const c = await connectClient(relay, agent);
    try {
      const ch = await c.client.openChannel();
      const out = collect(ch);
      assert.equal(await ch.request(ptyRequest({ term: 'xterm', cols: 80, rows: 24 })), true);
      // Raw mode: a terminal in canonical mode with a full line and no newline takes (and drops)
      // input one byte at a time so as not to deadlock, which would count as reading here.
      assert.equal(await ch.request(exec('stty raw -echo; echo ready; sleep 60')), true);
      await out.waitFor('ready');
      // Three windows' worth offered. Acknowledging on node-pty's write (before) took all of it
      // at once, queued in the agent; now the client stops within one window.
      const limit = 3 * BULK_WINDOW_BYTES;
      const sent = await sendUntilStalled(ch, Buffer.alloc(256 * 1024, 0x61), limit, 1500);
      assert.ok(sent < limit, `the client was stopped (it sent ${sent} bytes)`);
      assert.ok(sent <= BULK_WINDOW_BYTES + 256 * 1024, `at most one window in flight (sent ${sent})`);
      await ch.close();
    } finally {
      await c.close();
    }
  });
});

test('a paste larger than the terminal queue reaches a program that reads, whole and in order', async () => {
  await withOnlineAgent({ shell: '/bin/sh' }, async ({ relay, agent }) => {
    const c = await connectClient(relay, agent);
    try {
      const ch = await c.client.openChannel();
      const out = collect(ch);
      assert.equal(await ch.request(ptyRequest({ term: 'xterm', cols: 80, rows: 24 })), true);
      const bytes = 3_000_000;
      // Raw mode: no line editing, no echo, every byte passed on as it is.
      assert.equal(await ch.request(exec(`stty raw -echo; echo ready; head -c ${bytes} | md5sum`)), true);
      await out.waitFor('ready');
      // Printable bytes only: a terminal in raw mode still turns CR into nothing else, but keep
      // the test about ordering and loss, not about what a line discipline does.
      const paste = Buffer.from(randomBytes(bytes).toString('base64').slice(0, bytes));
      for (let i = 0; i < paste.length; i += 64 * 1024) await ch.send(paste.subarray(i, i + 64 * 1024));
      const md5 = createHash('md5').update(paste).digest('hex');
      await withTimeout(out.waitFor(md5, 20_000), 21_000, 'the digest of the whole paste');
      await withTimeout(out.closed, 5000, 'the command to exit');
    } finally {
      await c.close();
    }
  });
});

test('input never reaches a descriptor number node-pty has closed and the agent reused', async () => {
  // The program lets go of the terminal but lives on: node-pty closes its side before any exit.
  const p = pty.spawn('/bin/sh', ['-c', 'trap "" HUP; exec 0<&- 1>&- 2>&-; sleep 30'], { encoding: null });
  const term = p as unknown as { fd: number; _writable?: boolean };
  const input = new PtyInput(term.fd, () => term._writable !== false);
  const dir = mkdtempSync(join(tmpdir(), 'airlock-pty-reuse-'));
  const opened: number[] = [];
  try {
    const closedAt = Date.now() + 10_000;
    const isClosed = () => {
      try {
        fstatSync(term.fd);
        return false;
      } catch {
        return true;
      }
    };
    while (!isClosed() && Date.now() < closedAt) await new Promise((r) => setTimeout(r, 10));
    assert.ok(isClosed(), 'node-pty closed the terminal');
    // Another part of the agent opens a file: it gets the lowest free number, soon the terminal's.
    const victim = join(dir, 'victim');
    for (let i = 0; i < 1000 && !opened.includes(term.fd); i++) opened.push(openSync(victim, 'w+'));
    assert.ok(opened.includes(term.fd), 'the number was reused');
    let done = false;
    input.write(Buffer.from('keystrokes\n'), () => (done = true));
    assert.equal(done, true, 'the input is let go');
    assert.equal(readFileSync(victim, 'utf8'), '', 'and written nowhere');
  } finally {
    for (const fd of opened) closeSync(fd);
    p.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
