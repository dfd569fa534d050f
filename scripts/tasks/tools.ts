import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs a package's bin with the same Node that runs this task. */
export function runBin(bin: string, args: string[], options: SpawnSyncOptions = {}): number {
  const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules', bin), ...args], {
    cwd: repoRoot,
    stdio: 'inherit',
    ...options,
  });
  return r.status ?? 1;
}

export const lint = (): boolean =>
  runBin('eslint/bin/eslint.js', ['.', '--max-warnings=0']) === 0 &&
  runBin('prettier/bin/prettier.cjs', ['--check', '--log-level=warn', '.']) === 0;

/** The Node side, then the renderer (browser types, JSX), then the renderer's tests (run in Node). */
export const typecheck = (): boolean =>
  runBin('typescript/bin/tsc', ['-p', '.']) === 0 &&
  runBin('typescript/bin/tsc', ['-p', 'apps/connect/src/renderer']) === 0 &&
  runBin('typescript/bin/tsc', ['-p', 'apps/connect/src/renderer/tsconfig.test.json']) === 0;
