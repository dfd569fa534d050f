import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { OTHER_BUILDS_KEPT, scriptCacheFile } from './cached-script.js';

const tmp = mkdtempSync(join(tmpdir(), 'airlock-cached-script-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const runner = fileURLToPath(new URL('./test-support/run-cached-script.ts', import.meta.url));

/** A script shaped as the build writes the CLI's: a function expression of CommonJS's arguments. */
function writeScript(name: string, version: string): string {
  const file = join(tmp, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `(function (exports, require, module, __filename, __dirname) { "use strict";
      const { basename } = require('node:path');
      // Called only when the script runs: compiled lazily, so only a cache taken after the run holds it.
      function sum(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }
      process.stdout.write('ran ${version} ' + sum(10) + ' ' + basename(__filename) + '\\n');
      process.exitCode = Number(process.env.SCRIPT_EXIT || 0);
    })`,
  );
  return file;
}

function run(script: string, command: string, cacheDir: string | undefined, exit = 0, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', runner, script, command, cacheDir ?? ''], {
    encoding: 'utf8',
    env: { ...process.env, SCRIPT_EXIT: String(exit), ...env },
  });
  return { status: r.status, stdout: r.stdout, use: /cache: (\w+)/.exec(r.stderr)?.[1] ?? r.stderr };
}

const cacheFiles = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('cli-script-'));

test('the first good run writes the command’s cache (private, after the run), the next starts from it', () => {
  const dir = join(tmp, 'first');
  mkdirSync(dir);
  const script = writeScript('first.js', 'A');
  const first = run(script, 'exec', dir);
  assert.deepEqual([first.status, first.use, first.stdout], [0, 'miss', 'ran A 45 first.js\n']);
  const [file] = cacheFiles(dir);
  assert.match(file ?? '', /^cli-script-v[\d.]+-[a-z0-9]+-[0-9a-f]{8}-[0-9a-f]{8}-\d+-exec\.bin$/);
  assert.equal(statSync(join(dir, file!)).mode & 0o777, 0o600);
  // Taken after the run: it holds the functions the run compiled, so it is larger than the cache
  // V8 gives right after compiling (what Node's own compile cache stores). The file is a 4-byte
  // checksum, then the cache.
  const beforeRun = new Script(readFileSync(script, 'utf8')).createCachedData();
  assert.ok(statSync(join(dir, file!)).size - 4 > beforeRun.length, 'the cache holds more than the top level');
  const second = run(script, 'exec', dir);
  assert.deepEqual([second.status, second.use, second.stdout], [0, 'hit', 'ran A 45 first.js\n']);
  assert.deepEqual(cacheFiles(dir), [file]);
});

test('a run still going after start-up has its cache taken then: what it compiles later is not in it', () => {
  // Start-up calls sum(); 300 ms later the run calls late(), a large function. Taken at exit the
  // cache holds both; taken at 100 ms (as a long transfer's is, before V8 flushes what start-up
  // compiled) it holds sum() and not late().
  const script = join(tmp, 'late.js');
  const body = Array.from({ length: 300 }, (_, i) => `x = (x * 31 + ${i}) % 1000003;`).join(' ');
  writeFileSync(
    script,
    `(function (exports, require, module, __filename, __dirname) { "use strict";
      function sum(n) { let s = 0; for (let i = 0; i < n; i++) s += i; return s; }
      function late() { let x = 1; ${body} return x; }
      process.stdout.write('start ' + sum(10) + '\\n');
      setTimeout(() => process.stdout.write('late ' + late() + '\\n'), 300);
    })`,
  );
  const size = (takeAfter: string) => {
    const dir = mkdtempSync(join(tmp, 'take-'));
    const r = run(script, 'exec', dir, 0, { TAKE_CACHE_AFTER_MS: takeAfter });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^start 45\nlate \d+\n$/);
    return statSync(join(dir, cacheFiles(dir)[0]!)).size;
  };
  const atExit = size('60000');
  const early = size('100');
  assert.ok(early < atExit - 500, `taken early ${early} bytes, at exit ${atExit}: late() is not in the early one`);
});

test('a run that fails writes no cache: its few functions would be what every later run starts from', () => {
  const dir = join(tmp, 'failed');
  mkdirSync(dir);
  const script = writeScript('failed.js', 'A');
  const r = run(script, 'exec', dir, 3);
  assert.deepEqual([r.status, r.use], [3, 'miss']);
  assert.deepEqual(cacheFiles(dir), []);
});

test('a rebuilt script of the same length never runs the old cache; two builds used in turn keep theirs', () => {
  // V8 checks a cache against the source's length only: the file name's checksum is what keeps
  // an older build's code from running.
  const dir = join(tmp, 'rebuilt');
  mkdirSync(dir);
  const a = writeScript('a/same.js', 'A');
  assert.equal(run(a, 'exec', dir).use, 'miss');
  assert.equal(run(a, 'vms', dir).use, 'miss');
  const b = writeScript('b/same.js', 'B');
  assert.equal(readFileSync(a).length, readFileSync(b).length);
  const r = run(b, 'exec', dir);
  assert.deepEqual([r.use, r.stdout], ['miss', 'ran B 45 same.js\n']);
  // A second checkout (a worktree, the benchmark's baseline) does not cost the first its cache.
  assert.deepEqual([run(a, 'exec', dir).use, run(b, 'exec', dir).use], ['hit', 'hit']);
  assert.equal(cacheFiles(dir).filter((f) => f.endsWith('-exec.bin')).length, 2);
});

test('past the few newest, other builds’ caches for the command are deleted, oldest first', () => {
  const dir = join(tmp, 'pruned');
  mkdirSync(dir);
  const builds = Array.from({ length: OTHER_BUILDS_KEPT + 2 }, (_, i) => writeScript(`p${i}/x.js`, String(i)));
  const files = builds.map((script, i) => {
    assert.equal(run(script, 'exec', dir).use, 'miss');
    const file = scriptCacheFile(dir, readFileSync(script), 'exec');
    // Ordered by age without sleeping: each build's cache a minute older than the next one's.
    const t = Date.now() / 1000 - 60 * (builds.length - i);
    utimesSync(file, t, t);
    return file;
  });
  assert.equal(run(writeScript('vms/x.js', 'V'), 'vms', dir).use, 'miss');
  const left = cacheFiles(dir).map((f) => join(dir, f));
  // The last build's write deleted the oldest beyond the newest OTHER_BUILDS_KEPT of the others.
  assert.deepEqual(
    left.filter((f) => f.endsWith('-exec.bin')).sort(),
    files.slice(builds.length - 1 - OTHER_BUILDS_KEPT).sort(),
  );
  assert.equal(left.filter((f) => f.endsWith('-vms.bin')).length, 1, 'another command’s cache is left alone');
});

test('a cache V8 refuses (another script’s, with a good checksum) is reported and written again', () => {
  const dir = join(tmp, 'refused');
  mkdirSync(dir);
  const a = writeScript('refused-a.js', 'A');
  const b = writeScript('refused-b.js', 'B but longer');
  assert.equal(run(a, 'exec', dir).use, 'miss');
  copyFileSync(scriptCacheFile(dir, readFileSync(a), 'exec'), scriptCacheFile(dir, readFileSync(b), 'exec'));
  const r = run(b, 'exec', dir);
  assert.deepEqual([r.status, r.use, r.stdout], [0, 'rejected', 'ran B but longer 45 refused-b.js\n']);
  assert.equal(run(b, 'exec', dir).use, 'hit');
});

test('a damaged cache is refused by V8, the script runs as written, and the cache is written again', () => {
  const dir = join(tmp, 'damaged');
  mkdirSync(dir);
  const script = writeScript('damaged.js', 'A');
  assert.equal(run(script, 'shell', dir).use, 'miss');
  const [file] = cacheFiles(dir);
  writeFileSync(join(dir, file!), Buffer.alloc(statSync(join(dir, file!)).size, 0x5a));
  const r = run(script, 'shell', dir);
  assert.deepEqual([r.status, r.use, r.stdout], [0, 'rejected', 'ran A 45 damaged.js\n']);
  assert.equal(run(script, 'shell', dir).use, 'hit');
});

test('a cache with one byte changed inside is not given to V8 (which would not notice), and is written again', () => {
  const dir = join(tmp, 'flipped');
  mkdirSync(dir);
  const script = writeScript('flipped.js', 'A');
  assert.equal(run(script, 'exec', dir).use, 'miss');
  const file = join(dir, cacheFiles(dir)[0]!);
  const bytes = readFileSync(file);
  bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
  writeFileSync(file, bytes);
  const r = run(script, 'exec', dir);
  assert.deepEqual([r.status, r.use, r.stdout], [0, 'rejected', 'ran A 45 flipped.js\n']);
  assert.equal(run(script, 'exec', dir).use, 'hit');
});

test('without a private cache folder the script runs uncached', () => {
  const r = run(writeScript('nocache.js', 'A'), 'exec', undefined);
  assert.deepEqual([r.status, r.use, r.stdout], [0, 'uncached', 'ran A 45 nocache.js\n']);
});
