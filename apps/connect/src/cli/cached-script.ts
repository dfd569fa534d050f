// The session commands (`exec`, `shell`, `forward`…) start from one script holding the whole CLI,
// compiled with a V8 code cache taken *after* a run of that command. Node's own compile cache
// (compile-cache.ts) is taken when a module is compiled, before it runs, so it holds only each
// module's top level: every function a command then calls was parsed and compiled again on every
// run — a fifth of `airlock exec`'s CPU in a perf profile (README, Performance). A cache made with
// `vm.Script#createCachedData()` after the run holds those functions too.
//
// V8 checks a cache against the source's length only, so the file name carries a checksum of the
// script (and the Node version, CPU, V8's tag for its version and flags, and the command): a
// rebuilt CLI never runs an older build's code; and the file carries a checksum of the cache,
// which V8 does not check. The cache is compiled code that runs as this user: it lives in the
// same private folder as Node's compile cache, and is written to a temporary file and renamed,
// so a reader never sees half of it.
import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedDataVersionTag } from 'node:v8';
import { Script, constants } from 'node:vm';
import { crc32 } from 'node:zlib';

/** The whole-CLI script beside the split bundle's entry (scripts/tasks/bundle.ts writes both). */
export const SCRIPT_FILE = 'airlock-script.js';

/** The script beside the module at `entryUrl`, if it is there (it is not when running from source). */
export function scriptBeside(entryUrl: string): string | undefined {
  const path = fileURLToPath(new URL(SCRIPT_FILE, entryUrl));
  return existsSync(path) ? path : undefined;
}

/** The cache file for this script, Node, V8 flags and command. */
export function scriptCacheFile(dir: string, source: Buffer, command: string): string {
  const hex = (n: number) => (n >>> 0).toString(16).padStart(8, '0');
  const runtime = `${process.version}-${process.arch}-${hex(cachedDataVersionTag())}`;
  return join(dir, `cli-script-${runtime}-${hex(crc32(source))}-${source.length}-${command}.bin`);
}

/**
 * Other builds' caches kept per command: two checkouts (a worktree, the benchmark's baseline)
 * used in turn must not delete each other's on every run; a long-gone build's goes in time.
 */
export const OTHER_BUILDS_KEPT = 3;

export interface CachedScriptRun {
  scriptPath: string;
  command: string;
  /** The private cache folder (compile-cache.ts); without one the script runs uncached. */
  cacheDir: string | undefined;
  /** When to take the cache if the run is still going (default TAKE_CACHE_AFTER_MS; tests). */
  takeCacheAfterMs?: number;
}

/**
 * A run still going after this long has its cache taken then, and written at exit if the run
 * succeeds. Taken at exit after a long run (a 200 MB `exec`, a shell left open), the cache lacked
 * most of the start-up: V8 flushes the bytecode of functions that have not run for a while, so a
 * cache written after a bulk `exec` was 680 KB instead of 1.19 MB, and every later `exec` of that
 * build started ~80 ms slower (stop 31, README Performance). Start-up is over well within this.
 */
export const TAKE_CACHE_AFTER_MS = 2000;

/** How a run used the cache: started from it, had none, had a damaged or refused one, or has no folder for one. */
export type ScriptCacheUse = 'hit' | 'miss' | 'rejected' | 'uncached';

/**
 * Compiles and runs the script (a function expression taking CommonJS's five arguments, which
 * runs the CLI), with this command's cache when there is a good one. Without one, the cache is
 * written as the process exits — only after a run that succeeded (exit 0), so a failed run's
 * few functions do not become what every later run starts from.
 */
export function runCachedScript(run: CachedScriptRun): ScriptCacheUse {
  const source = readFileSync(run.scriptPath);
  const cacheFile = run.cacheDir ? scriptCacheFile(run.cacheDir, source, run.command) : undefined;
  const cached = cacheFile ? readCache(cacheFile) : 'none';
  const cachedData = typeof cached === 'string' ? undefined : cached;
  // The build writes the script in ASCII (scripts/tasks/bundle.ts): read as Latin-1, it is a
  // one-byte string made in ~1 ms; UTF-8 decoding costs ~5.
  const script = new Script(source.toString(isAscii(source) ? 'latin1' : 'utf8'), {
    filename: run.scriptPath,
    ...(cachedData ? { cachedData } : {}),
    // The build refuses an `import()` in the script (scripts/tasks/bundle.ts); should one come
    // in anyway, it works as in a module (Node prints an experimental warning).
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const refused = cached === 'damaged' || script.cachedDataRejected === true;
  if (cacheFile && run.cacheDir && (!cachedData || refused)) {
    const dir = run.cacheDir;
    let taken: Buffer | undefined;
    const take = setTimeout(() => (taken = script.createCachedData()), run.takeCacheAfterMs ?? TAKE_CACHE_AFTER_MS);
    take.unref();
    process.once('exit', (code) => {
      clearTimeout(take);
      if (code === 0) writeCache(dir, cacheFile, run.command, () => taken ?? script.createCachedData());
    });
  }
  const main = script.runInThisContext() as (
    exports: object,
    require: NodeJS.Require,
    module: { exports: object },
    filename: string,
    dirname: string,
  ) => void;
  const module = { exports: {} };
  main.call(
    module.exports,
    module.exports,
    createRequire(run.scriptPath),
    module,
    run.scriptPath,
    dirname(run.scriptPath),
  );
  if (!cacheFile) return 'uncached';
  return refused ? 'rejected' : !cachedData ? 'miss' : 'hit';
}

/**
 * The cache file is a CRC-32 of the cache, then the cache. V8 checks a cache's header but, in a
 * release build, not its contents; Node checks its own compile cache the same way.
 */
function readCache(file: string): Buffer | 'none' | 'damaged' {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return 'none';
  }
  if (bytes.length <= 4) return 'damaged';
  const data = bytes.subarray(4);
  return bytes.readUInt32BE(0) === crc32(data) ? data : 'damaged';
}

/** Never fails the command: a cache that cannot be written only costs the next run its speed-up. */
function writeCache(dir: string, file: string, command: string, data: () => Buffer): void {
  // A name of its own ('wx': never an existing file, nor one a link points to).
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const cache = data();
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc32(cache));
    writeFileSync(tmp, Buffer.concat([sum, cache]), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
    pruneOtherBuilds(dir, file, command);
  } catch {
    rmSync(tmp, { force: true });
  }
}

/** Keeps the newest few caches of other builds for this command and deletes the rest. */
function pruneOtherBuilds(dir: string, file: string, command: string): void {
  const name = basename(file);
  const others = readdirSync(dir)
    .filter((f) => f !== name && f.startsWith('cli-script-') && f.endsWith(`-${command}.bin`))
    .map((f) => ({ path: join(dir, f), mtime: statSync(join(dir, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of others.slice(OTHER_BUILDS_KEPT)) rmSync(old.path, { force: true });
}
