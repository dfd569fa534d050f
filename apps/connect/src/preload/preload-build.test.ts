import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from 'esbuild';
import { desktopBuilds } from '../../../../scripts/tasks/bundle.js';

test('the built preload is CommonJS (sandboxed preloads cannot be modules) and requires electron alone', async () => {
  const preload = desktopBuilds().find((b) => String(b.outfile).endsWith('preload.cjs'))!;
  const out = await build({ ...preload, write: false, metafile: true });
  const text = out.outputFiles[0]!.text;
  assert.deepEqual([...new Set(text.match(/require\("[^"]+"\)/g))], ['require("electron")']);
  assert.doesNotMatch(text, /\bimport\s|export\s/);
  // contextBridge exposes `airlock` and nothing else; ipcRenderer is never handed over.
  assert.match(text, /exposeInMainWorld\("airlock",/);
  assert.equal(text.match(/exposeInMainWorld/g)!.length, 1);
  const inputs = Object.keys(out.metafile.inputs).sort();
  assert.deepEqual(inputs, [
    'apps/connect/src/api/contract/request-names.ts',
    'apps/connect/src/preload/airlock-api.ts',
    'apps/connect/src/preload/preload.ts',
  ]);
});
