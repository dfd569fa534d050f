import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SshClientSession, type SshSession } from '@microsoft/dev-tunnels-ssh';
import { rawPeerLink } from '../testing/index.js';
import { createServerSession, createSshConfig } from './config.js';
import { generateHostKey } from './keys.js';
import { releaseSession } from './session-release.js';
import { startSshSession } from './session-start.js';

/** Counts rejections nobody handled while `body` runs (and a few event-loop turns after). */
async function leakedRejections(body: () => Promise<void>): Promise<unknown[]> {
  const leaked: unknown[] = [];
  const onRejection = (reason: unknown) => leaked.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    await body();
    for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 20));
  } finally {
    process.off('unhandledRejection', onRejection);
  }
  return leaked;
}

async function newSession(side: 'server' | 'client'): Promise<SshSession> {
  if (side === 'client') return new SshClientSession(createSshConfig());
  const server = createServerSession();
  server.credentials = { publicKeys: [await generateHostKey()] };
  return server;
}

/** The agent's order: the peer's first frame is already there when the session starts. */
async function startAfterJunk(
  side: 'server' | 'client',
  junk: Buffer,
  start: (s: SshSession, link: Awaited<ReturnType<typeof rawPeerLink>>) => Promise<unknown>,
): Promise<unknown> {
  const link = await rawPeerLink();
  const session = await newSession(side);
  try {
    link.raw.send(junk);
    await link.firstFrame;
    return await start(session, link);
  } finally {
    releaseSession(session);
    await link.close();
  }
}

for (const side of ['server', 'client'] as const) {
  test(`${side}: 300 bytes of "A" instead of a version line fail the start as a value, with nothing left unhandled`, async () => {
    let result: unknown;
    const leaked = await leakedRejections(async () => {
      result = await startAfterJunk(side, Buffer.alloc(300, 'A'), (s, link) => startSshSession(s, link.stream));
    });
    assert.deepEqual(leaked, []);
    assert.deepEqual(result, {
      ok: false,
      error: { message: 'Failed to read the protocol version', reason: 2 },
    });
  });
}

for (const [line, expected] of [
  ['SSH-1.5-old\r\n', /SSH version 1\.5 is not supported/],
  ['SSH-2.0\r\n', /SSH version line could not be parsed/],
] as const) {
  test(`a version line ${JSON.stringify(line)} fails the start at once instead of waiting for a key exchange`, async () => {
    const result = await startAfterJunk('server', Buffer.from(line), (s, link) => startSshSession(s, link.stream));
    assert.equal((result as { ok: boolean }).ok, false);
    assert.match((result as { error: { message: string } }).error.message, expected);
  });
}

test('the peer closing before its version line is a failed start too', async () => {
  const leaked = await leakedRejections(async () => {
    const link = await rawPeerLink();
    const session = await newSession('server');
    try {
      link.raw.send(Buffer.from('SSH-2.0'));
      await link.firstFrame;
      const started = startSshSession(session, link.stream);
      link.raw.close();
      const r = await started;
      assert.equal(r.ok, false);
    } finally {
      releaseSession(session);
      await link.close();
    }
  });
  assert.deepEqual(leaked, []);
});

// The reason this module exists, at the level it matters: the process. If the bare case stops
// dying after a library upgrade, the library fixed its version exchange: keep the guard (it costs
// nothing) and update the README's note.
test('library quirk: a bare connect() ends the process on junk; startSshSession does not', async () => {
  const child = join(dirname(fileURLToPath(import.meta.url)), '..', 'testing', 'version-junk-child.ts');
  const run = (mode: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', child, mode], { encoding: 'utf8', timeout: 60_000 });
  const bare = run('bare');
  assert.notEqual(bare.status, 0);
  assert.match(bare.stderr, /SshConnectionError: Failed to read the protocol version/);
  assert.doesNotMatch(bare.stdout, /survived/);
  const guarded = run('guarded');
  assert.equal(guarded.status, 0, guarded.stderr);
  assert.equal(guarded.stdout, 'survived\n');
});
