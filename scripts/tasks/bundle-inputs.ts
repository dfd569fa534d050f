// The list of files a program's bundle was built from, beside the bundle (`<name>.inputs`), so
// the wrapper (scripts/run-ts.sh) can tell whether the bundle is current by looking at those files
// alone, instead of walking every source tree at every command's start (issue 11: the walk was
// ~10 of the wrapper's ~24 ms on a slow VM).
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { repoRoot } from './tools.js';

/**
 * Our own files among the bundle's inputs (npm packages are covered by the two lock files), the
 * lock files, and the patches folder with every patch in it (a patch added or removed changes the
 * folder). Repo-relative, one per line. Only files that exist now: the wrapper takes a listed file
 * that is gone as a reason to run the source.
 */
export function bundleInputs(metafile: Metafile): string[] {
  const own = Object.keys(metafile.inputs).filter((path) => !path.includes('node_modules/') && !path.includes(':'));
  const patches = existsSync(join(repoRoot, 'patches'))
    ? ['patches', ...readdirSync(join(repoRoot, 'patches')).map((file) => `patches/${file}`)]
    : [];
  const locks = ['package-lock.json', 'node_modules/.package-lock.json'].filter((f) => existsSync(join(repoRoot, f)));
  return [...new Set([...own.sort(), ...locks, ...patches])];
}

/** Writes `.tools/dist/<name>.inputs` for the bundle `.tools/dist/<name>.mjs`. */
export function writeBundleInputs(bundleFile: string, metafile: Metafile): void {
  const list = bundleInputs(metafile);
  for (const path of list)
    if (path.includes('\n') || path.startsWith('/')) throw new Error(`cannot list ${JSON.stringify(path)} as an input`);
  writeFileSync(bundleFile.replace(/\.mjs$/, '.inputs'), list.join('\n') + '\n');
}
