// V8's compile cache for the CLI: most of a short command's start-up was Node compiling the same
// modules again (issue 11). The cache holds compiled code that later runs as this user, so it
// lives only in a folder of the user's own that nobody else can write — never a shared /tmp.
import { statSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { makeFoldersSync } from '@airlock/shared/folders';

export type CompileCacheDir = { ok: true; dir: string } | { ok: false; reason: string };

/**
 * `$XDG_CACHE_HOME/airlock/v8-compile-cache` (else `~/.cache/…`), created 0700; refused when it
 * is not this user's or others may write to it.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.()): CompileCacheDir {
  const xdg = env.XDG_CACHE_HOME?.trim();
  // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME?.trim() || homedir(), '.cache');
  const dir = join(base, 'airlock', 'v8-compile-cache');
  try {
    makeFoldersSync(dir, 0o700);
    const st = statSync(dir);
    if (uid !== undefined && st.uid !== uid) return { ok: false, reason: `${dir} belongs to another user` };
    if ((st.mode & 0o022) !== 0) return { ok: false, reason: `${dir} is writable by others` };
    return { ok: true, dir };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/**
 * Turns the cache on for every module loaded after this call; without a safe folder, runs without
 * it. Returns the folder (the session commands' script cache lives there too: cached-script.ts).
 */
export function enableCliCompileCache(): string | undefined {
  const where = compileCacheDir();
  if (!where.ok) return undefined; // start-up is slower, nothing else changes
  // A cache that cannot be written (read-only file system) only costs the speed-up.
  enableCompileCache(where.dir);
  return where.dir;
}
