import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { lastLines, RotatingFile, rotatedPaths } from './rotating-file.js';

const child = join(dirname(fileURLToPath(import.meta.url)), '..', 'test-support', 'log-writer-child.ts');

function tempFolder(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-logs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'logs');
}

test('lines go to a size-bounded set of files, newest first; the folder is 0700 and the files 0600', (t) => {
  const folder = tempFolder(t);
  const file = new RotatingFile({ folder, name: 'connect', ext: '.log', maxBytes: 1000, files: 3 });
  for (let i = 0; i < 100; i++) file.write(JSON.stringify({ i, pad: 'y'.repeat(40) }));
  file.close();
  assert.equal(file.lastError, undefined);
  assert.deepEqual(readdirSync(folder).sort(), ['connect.1.log', 'connect.2.log', 'connect.log']);
  assert.equal(statSync(folder).mode & 0o777, 0o700);
  for (const p of file.existingPaths()) {
    assert.equal(statSync(p).mode & 0o777, 0o600, p);
    assert.ok(statSync(p).size <= 1000, `${p} stays within the bound`);
  }
  // The newest lines survive, in order, and the oldest fell off the end.
  const lines = lastLines(file.existingPaths(), 1000).map((l) => (JSON.parse(l) as { i: number }).i);
  assert.equal(lines.at(-1), 99);
  assert.ok(lines.length < 100 && lines.length > 30, `${lines.length} lines kept`);
  assert.deepEqual(
    lines,
    lines.map((_, k) => lines[0]! + k),
    'consecutive',
  );
  assert.deepEqual(
    lastLines(file.existingPaths(), 5).map((l) => (JSON.parse(l) as { i: number }).i),
    [95, 96, 97, 98, 99],
  );
});

test('a folder that cannot be made is a kept error, never an exception', (t) => {
  const dir = tempFolder(t);
  const blocker = new RotatingFile({ folder: dir, name: 'x', ext: '.log', maxBytes: 100, files: 2 });
  blocker.write('a file where the folder should be');
  blocker.close();
  const file = new RotatingFile({ folder: join(dir, 'x.log'), name: 'connect', ext: '.log', maxBytes: 100, files: 2 });
  file.write('lost');
  assert.match(file.lastError ?? '', /ENOTDIR|EEXIST/);
});

test('several processes writing at once: every line lands whole, exactly once, across rotations', async (t) => {
  const folder = tempFolder(t);
  const writers = ['a', 'b', 'c'];
  // Enough lines that the number of files stays far from the bound below: a writer appends to a
  // file another has rotated until it notices (once a second, or at its own next rotation), so
  // interleaved writers make files larger than maxBytes, and how much depends on the scheduling
  // (CI saw 10 files from 1 500 lines each; 4 000 gave 25–43 here).
  const count = 4000;
  const children = writers.map((w) =>
    spawn(process.execPath, ['--import', 'tsx', child, folder, w, String(count), '20000'], { stdio: 'pipe' }),
  );
  const results = await Promise.all(
    children.map(async (c) => {
      let err = '';
      c.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const [code] = (await once(c, 'exit')) as [number];
      return { code, err };
    }),
  );
  for (const r of results) assert.equal(r.code, 0, r.err);
  const paths = rotatedPaths({ folder, name: 'connect', ext: '.log', files: 400 });
  const seen = new Map<string, number>();
  let files = 0;
  for (const p of paths) {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch {
      continue;
    }
    files++;
    for (const line of text.split('\n').filter(Boolean)) {
      const { writer, i } = JSON.parse(line) as { writer: string; i: number };
      const key = `${writer}:${i}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  assert.ok(files > 10, `rotated into ${files} files`);
  assert.equal(seen.size, writers.length * count, 'no line lost');
  assert.ok(
    [...seen.values()].every((n) => n === 1),
    'no line written twice',
  );
  assert.equal(readdirSync(folder).filter((f) => f.endsWith('.lock')).length, 0, 'no lock left behind');
});
