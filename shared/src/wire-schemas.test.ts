import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

/** Bundles `entry` for a browser and returns the files it pulled in (relative to shared/src), or the errors. */
async function browserInputs(entry: string): Promise<string[]> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs).map((p) => relative(here, p));
}

test('@airlock/shared/schemas bundles for a browser: only the schemas (built lazily), name rules, results and zod', async () => {
  const inputs = await browserInputs('./wire-schemas.ts');
  const ours = inputs.filter((p) => !p.includes('node_modules')).sort();
  assert.deepEqual(ours, [
    'helpdesk-schemas.ts',
    'lazy-schema.ts',
    'names.ts',
    'result.ts',
    'schemas.ts',
    'wire-schemas.ts',
  ]);
  const packages = new Set(
    inputs.filter((p) => p.includes('node_modules')).map((p) => p.split('node_modules/')[1]!.split('/')[0]),
  );
  assert.deepEqual([...packages], ['zod']);
});

test('the main barrel is not browser-safe (what the separate entry exists for)', async () => {
  await assert.rejects(browserInputs('./index.ts'), /node:|Could not resolve/);
});
