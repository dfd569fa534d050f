import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { readStatusFile, StatusFileWriter, STATUS_FILE } from './status-file.js';

test('the status file: 0600, the latest state wins after a burst, a damaged or missing file is said', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-status-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, STATUS_FILE);
  assert.deepEqual(await readStatusFile(path), { ok: true, status: undefined });

  const writer = new StatusFileWriter(
    path,
    {
      pid: process.pid,
      version: '0.1.0',
      startedAt: new Date().toISOString(),
      vm: 'vm1',
      relayUrl: 'wss://relay.example.org:7443',
      hostKeyFingerprint: 'SHA256:x',
      policyPorts: [8888],
      link: { state: 'connecting', since: new Date().toISOString() },
      sessions: [],
    },
    pino({ level: 'silent' }),
  );
  for (let i = 0; i < 50; i++)
    writer.update((s) => ({ ...s, sessions: [{ sid: `s${i}`, user: 'alice', since: s.startedAt }] }));
  writer.update((s) => ({ ...s, link: { state: 'online', since: s.startedAt } }));
  await writer.flush();
  const read = await readStatusFile(path);
  assert.ok(read.ok && read.status);
  assert.equal(read.status.link.state, 'online');
  assert.deepEqual(
    read.status.sessions.map((s) => s.sid),
    ['s49'],
  );
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(dir), [STATUS_FILE], 'no temp files left behind');

  await writeFile(path, '{"pid": "nope"}');
  const damaged = await readStatusFile(path);
  assert.equal(damaged.ok, false);
  assert.match(!damaged.ok ? damaged.message : '', /is not a status file this agent version understands/);
});
