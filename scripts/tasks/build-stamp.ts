// What the programs' bundles were built from, so a build whose inputs have not changed is not
// redone. Rebuilding rewrites .tools/dist in place — the CLI's chunks, the renderer's files — under
// any Airlock that runs from it: `npm run desktop` or `npm test` beside a running `npm start`
// replaced the chunks its `airlock ui` loads on demand and the pages it serves. With the stamp, a
// build of unchanged sources writes nothing, and one that changed says it may disturb a running copy.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { repoRoot } from './tools.js';

/** Folders whose every file may be an input (sources, the renderer's page and styles). */
const SOURCE_DIRS = ['shared/src', 'relay/src', 'org/src', 'apps/agent/src', 'apps/connect/src', 'patches'];
/** Single files that shape a build: the lock files, each package's dependencies, the build itself. */
const SOURCE_FILES = [
  'package.json',
  'package-lock.json',
  'node_modules/.package-lock.json',
  'shared/package.json',
  'relay/package.json',
  'org/package.json',
  'apps/agent/package.json',
  'apps/connect/package.json',
  'scripts/tasks/bundle.ts',
  'scripts/tasks/bundle-inputs.ts',
  'scripts/tasks/build-stamp.ts',
];

function* filesUnder(root: string, dir: string): Generator<string> {
  if (!existsSync(join(root, dir))) return;
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) yield join(entry.parentPath, entry.name).slice(root.length + 1);
  }
}

/**
 * A digest of every input's path, size and modification time, and of the Node that builds
 * (esbuild's target follows it). A file touched without a change counts as changed: a rebuild
 * too many costs seconds, one too few would run stale code.
 */
export function sourceFingerprint(root = repoRoot): string {
  const hash = createHash('sha256').update(`${process.version}\n`);
  const files = [...SOURCE_DIRS.flatMap((d) => [...filesUnder(root, d)]), ...SOURCE_FILES].sort();
  for (const file of files) {
    const path = join(root, file);
    if (!existsSync(path)) {
      hash.update(`${file} -\n`);
      continue;
    }
    const s = statSync(path);
    hash.update(`${file} ${s.size} ${s.mtimeMs}\n`);
  }
  return hash.digest('hex');
}

/**
 * The build's stamp, written last: a build that failed half-way leaves none, so the next one
 * runs in full.
 */
export class BuildStamp {
  constructor(
    private readonly file: string,
    /** What a finished build leaves: if one is gone, the build is redone whatever the stamp says. */
    private readonly outputs: string[],
  ) {}

  isCurrent(fingerprint: string): boolean {
    if (!this.outputs.every((f) => existsSync(f))) return false;
    try {
      return readFileSync(this.file, 'utf8').trim() === fingerprint;
    } catch {
      return false;
    }
  }

  /** Before a build starts: what it rewrites is not current until it finishes. */
  clear(): void {
    rmSync(this.file, { force: true });
  }

  write(fingerprint: string): void {
    writeFileSync(this.file, `${fingerprint}\n`);
  }
}
