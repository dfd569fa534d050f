import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { before, after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { STORE_FILE } from './relay-state.js';
import { openSqliteStore } from './store/sqlite-store.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'airlock-relay.js');
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-epipe-'));
  // Enough entries that the output is far larger than a pipe's buffer (64 KiB).
  const store = openSqliteStore(join(dir, STORE_FILE));
  for (let i = 0; i < 1500; i++)
    await store.audit.append({
      type: 'test.entry',
      actor: 'cli:test',
      outcome: 'info',
      data: { i, pad: 'x'.repeat(200) },
    });
  await store.close();
});
after(() => rm(dir, { recursive: true, force: true }));

/** `airlock-relay <args> | head …` through a real shell; the exit code is airlock-relay's own. */
function intoHead(args: string[], head: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const quoted = [process.execPath, bin, '--data-dir', dir, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('bash', ['-c', `${quoted} | ${head}; exit "\${PIPESTATUS[0]}"`], { stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

for (const [args, head] of [
  [['audit', 'tail', '-n', '500'], 'head -1'],
  [['audit', 'tail', '-n', '500', '--follow'], 'head -1'],
  [['audit', 'query', '--json', '--limit', '5000'], 'head'],
  [['audit', 'query', '--limit', '5000'], 'head -3'],
] as const)
  test(`airlock-relay ${args.join(' ')} | ${head} ends quietly`, async () => {
    const r = await intoHead([...args], head);
    assert.equal(r.stderr, '', 'no EPIPE stack trace');
    assert.equal(r.code, 0);
    assert.equal(r.stdout.trim().split('\n').length, Number(/-(\d+)$/.exec(head)?.[1] ?? 10));
  });
