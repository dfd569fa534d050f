// Folders made by walking the path. Its own module (and package entry, `@airlock/shared/folders`):
// the CLI's compile cache makes its folder before anything else loads, and must not load more.
import { mkdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, parse, resolve, sep } from 'node:path';

/** `path`'s folders from the root down: /a/b/c → /a, /a/b, /a/b/c. */
function foldersDown(path: string): string[] {
  const full = resolve(path);
  const { root } = parse(full);
  const out: string[] = [];
  let current = root;
  for (const part of full.slice(root.length).split(sep).filter(Boolean)) out.push((current = join(current, part)));
  return out;
}

/**
 * `mkdir -p`, the folders it makes getting `mode`. Node's `{ recursive: true }` never returns when
 * a parent exists but refuses the folder with ENOENT (procfs, sysfs): AIRLOCK_LOG_DIR=/proc/x hung
 * every command. This walks the path once and fails with the error instead.
 */
export async function makeFolders(path: string, mode: number): Promise<void> {
  for (const folder of foldersDown(path))
    await mkdir(folder, { mode }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
}

/** makeFolders, synchronously (start-up, and the log file's first line). */
export function makeFoldersSync(path: string, mode: number): void {
  for (const folder of foldersDown(path))
    try {
      mkdirSync(folder, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
}
