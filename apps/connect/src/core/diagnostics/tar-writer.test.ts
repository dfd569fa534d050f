import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { tarGz } from './tar-writer.js';

test('the archive is one GNU tar reads back: folders, files, contents, modes and time', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-tar-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const big = Buffer.alloc(70_000, 'z'); // several blocks, not a multiple of 512
  const archive = tarGz(
    [
      { name: 'bundle/' },
      { name: 'bundle/doctor.txt', content: '✓ config  enrolled\n' },
      { name: 'bundle/empty.json', content: '' },
      { name: 'bundle/logs/' },
      { name: 'bundle/logs/connect.log', content: big, mode: 0o644 },
    ],
    new Date('2026-11-30T12:00:00Z'),
  );
  const file = join(dir, 'b.tar.gz');
  writeFileSync(file, archive);
  const list = spawnSync('tar', ['-tvzf', file], { encoding: 'utf8' });
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^drwx------ airlock\/airlock +0 2026-11-30 \d\d:00 bundle\/$/m);
  assert.match(list.stdout, /^-rw-r--r-- airlock\/airlock +70000 .* bundle\/logs\/connect\.log$/m);
  const extracted = spawnSync('tar', ['-xzf', file, '-C', dir], { encoding: 'utf8' });
  assert.equal(extracted.status, 0, extracted.stderr);
  assert.equal(readFileSync(join(dir, 'bundle', 'doctor.txt'), 'utf8'), '✓ config  enrolled\n');
  assert.equal(readFileSync(join(dir, 'bundle', 'empty.json'), 'utf8'), '');
  assert.ok(readFileSync(join(dir, 'bundle', 'logs', 'connect.log')).equals(big));
  assert.equal(statSync(join(dir, 'bundle', 'doctor.txt')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'bundle', 'doctor.txt')).mtime.toISOString(), '2026-11-30T12:00:00.000Z');
});

test('a name too long for ustar is refused, not cut', () => {
  assert.throws(() => tarGz([{ name: 'x'.repeat(101), content: '' }], new Date()), /longer than 100 bytes/);
});
