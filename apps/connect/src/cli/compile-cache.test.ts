import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { compileCacheDir } from './compile-cache.js';

const tmp = mkdtempSync(join(tmpdir(), 'airlock-compile-cache-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the compile cache lives in the user cache folder, created for this user alone', () => {
  const base = join(tmp, 'fresh');
  const where = compileCacheDir({ XDG_CACHE_HOME: base });
  assert.deepEqual(where, { ok: true, dir: join(base, 'airlock', 'v8-compile-cache') });
  assert.equal(statSync(join(base, 'airlock', 'v8-compile-cache')).mode & 0o777, 0o700);
});

test('a cache folder others may write to is not used (its code would run as this user)', () => {
  const base = join(tmp, 'shared');
  const dir = join(base, 'airlock', 'v8-compile-cache');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  const where = compileCacheDir({ XDG_CACHE_HOME: base });
  assert.equal(where.ok, false);
  assert.match(!where.ok ? where.reason : '', /writable by others/);
});

test("a cache folder of another user's is not used", () => {
  const base = join(tmp, 'theirs');
  const where = compileCacheDir({ XDG_CACHE_HOME: base }, 4_000_000);
  assert.equal(where.ok, false);
  assert.match(!where.ok ? where.reason : '', /another user/);
});

test('a relative XDG_CACHE_HOME is ignored (the XDG rule), not resolved against the working folder', () => {
  const home = join(tmp, 'home');
  const where = compileCacheDir({ XDG_CACHE_HOME: 'relative/cache', HOME: home });
  assert.deepEqual(where, { ok: true, dir: join(home, '.cache', 'airlock', 'v8-compile-cache') });
});

test('a cache folder that cannot be made is not used, and the command does not hang on it', () => {
  // Node's recursive mkdir never returns under /proc; the walk fails at once.
  const r = compileCacheDir({ XDG_CACHE_HOME: '/proc/airlock-no-such-cache' });
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : '', /ENOENT/);
});

test('the CLI fills the cache on its first run and the folder stays private', () => {
  const base = join(tmp, 'cli');
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, '--help'], {
    env: { ...process.env, XDG_CACHE_HOME: base, NODE_COMPILE_CACHE: '' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: airlock/);
  const dir = join(base, 'airlock', 'v8-compile-cache');
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  assert.ok(readdirSync(dir).length > 0, 'nothing was cached');
});
