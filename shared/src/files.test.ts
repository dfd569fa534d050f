import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileIfExists, writeFileAtomic } from './files.js';
import { makeFolders, makeFoldersSync } from './folders.js';

async function scratch(t: { after(fn: () => Promise<void>): void }) {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-atomic-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const victim = join(dir, 'victim');
  await writeFile(victim, 'untouched');
  return { dir, victim, target: join(dir, 'directory.json') };
}

test('writes the file with the given mode and leaves no temp file behind', async (t) => {
  const { dir, target } = await scratch(t);
  await writeFileAtomic(target, 'one', 0o600);
  await writeFileAtomic(target, 'two', 0o640);
  assert.equal(await readFile(target, 'utf8'), 'two');
  assert.equal((await stat(target)).mode & 0o777, 0o640);
  assert.deepEqual((await readdir(dir)).sort(), ['directory.json', 'victim']);
});

test('a symlink planted at the temp name a pid and the clock would give is not written through', async (t) => {
  const { victim, target } = await scratch(t);
  const now = 1_700_000_000_000;
  mock.timers.enable({ apis: ['Date'], now });
  t.after(() => mock.timers.reset());
  await symlink(victim, `${target}.${process.pid}.${now}.tmp`);
  await writeFileAtomic(target, 'secret', 0o600);
  assert.equal(await readFile(victim, 'utf8'), 'untouched');
  assert.ok((await lstat(target)).isFile());
  assert.equal(await readFile(target, 'utf8'), 'secret');
});

test('the temp file is created exclusively: a symlink at its name makes the write fail', async (t) => {
  const { victim, target } = await scratch(t);
  const planted = `${target}.guessed.tmp`;
  await symlink(victim, planted);
  await assert.rejects(
    writeFileAtomic(target, 'secret', 0o600, () => 'guessed'),
    (e: NodeJS.ErrnoException) => e.code === 'EEXIST',
  );
  assert.equal(await readFile(victim, 'utf8'), 'untouched');
  assert.ok((await lstat(planted)).isSymbolicLink(), 'a file that is not ours is left alone');
  await assert.rejects(lstat(target), { code: 'ENOENT' });
});

test('readFileIfExists: the text, undefined when missing, and no further than its bound', async (t) => {
  const { dir } = await scratch(t);
  const file = join(dir, 'text');
  await writeFile(file, 'héllo');
  assert.equal(await readFileIfExists(file), 'héllo');
  assert.equal(await readFileIfExists(join(dir, 'missing')), undefined);
  assert.equal(await readFileIfExists(file, 6), 'héllo', 'exactly at the bound (6 bytes)');
  await assert.rejects(readFileIfExists(file, 5), { code: 'EFBIG', message: `${file} holds more than 5 bytes` });
  // A device that never ends is read no further than the bound.
  await assert.rejects(readFileIfExists('/dev/zero', 1024 * 1024), { code: 'EFBIG' });
  await assert.rejects(readFileIfExists(dir), { code: 'EISDIR' });
});

test('makeFolders makes the missing folders with the mode, keeps existing ones, and fails where a folder cannot be', async (t) => {
  const { dir } = await scratch(t);
  const deep = join(dir, 'a', 'b', 'c');
  await makeFolders(deep, 0o700);
  assert.equal((await stat(deep)).mode & 0o777, 0o700);
  await makeFolders(deep, 0o700);
  makeFoldersSync(join(deep, 'd'), 0o700);
  assert.ok((await stat(join(deep, 'd'))).isDirectory());
  // Node's own recursive mkdir never returns here.
  await assert.rejects(makeFolders('/proc/airlock-nope/x', 0o700), { code: 'ENOENT' });
  assert.throws(() => makeFoldersSync('/proc/airlock-nope/x', 0o700), { code: 'ENOENT' });
  await writeFile(join(dir, 'file'), '');
  await assert.rejects(makeFolders(join(dir, 'file', 'x'), 0o700), { code: 'ENOTDIR' });
});
