// The build's stamp: a build of unchanged sources is skipped, so `npm test` or `npm run desktop`
// does not rewrite .tools/dist under a running `npm start`; any change to what the programs are
// made of, or a missing output, makes the next build run.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { BuildStamp, sourceFingerprint } from '../scripts/tasks/build-stamp.js';

const root = mkdtempSync(join(tmpdir(), 'airlock-build-stamp-'));
after(() => rmSync(root, { recursive: true, force: true }));

function put(rel: string, text: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}
put('shared/src/deep/a.ts', 'export const a = 1;\n');
put('apps/connect/src/renderer/app.css', 'body {}\n');
put('package-lock.json', '{}\n');

test('the fingerprint is the same while nothing changes, and moves on an edit, a new file, a removal, a lock file', () => {
  const first = sourceFingerprint(root);
  assert.equal(sourceFingerprint(root), first);

  put('shared/src/deep/a.ts', 'export const a = 2;\n');
  const edited = sourceFingerprint(root);
  assert.notEqual(edited, first, 'an edit');

  // Same size, only the time moved (an editor's save, a checkout): counted as a change.
  const later = Date.now() / 1000 + 5;
  utimesSync(join(root, 'shared/src/deep/a.ts'), later, later);
  const touched = sourceFingerprint(root);
  assert.notEqual(touched, edited, 'a touch');

  put('apps/connect/src/renderer/more.css', 'p {}\n');
  const added = sourceFingerprint(root);
  assert.notEqual(added, touched, 'a new file in the renderer (not only .ts counts)');

  rmSync(join(root, 'apps/connect/src/renderer/more.css'));
  assert.notEqual(sourceFingerprint(root), added, 'a removal');

  const beforeLock = sourceFingerprint(root);
  put('package-lock.json', '{"changed": true}\n');
  assert.notEqual(sourceFingerprint(root), beforeLock, 'the lock file (the CLI bundles its packages)');

  const beforePatch = sourceFingerprint(root);
  put('patches/some-lib+1.0.0.patch', 'diff\n');
  assert.notEqual(sourceFingerprint(root), beforePatch, 'a patch of a dependency');
});

test('the stamp is current only after a whole build wrote it, with every output still there', () => {
  const dist = join(root, 'dist');
  mkdirSync(dist, { recursive: true });
  const output = join(dist, 'airlock.mjs');
  const stamp = new BuildStamp(join(dist, 'build.stamp'), [output]);
  const fingerprint = sourceFingerprint(root);

  assert.equal(stamp.isCurrent(fingerprint), false, 'never built');
  writeFileSync(output, '');
  stamp.write(fingerprint);
  assert.equal(stamp.isCurrent(fingerprint), true, 'built from these sources');
  assert.equal(stamp.isCurrent(fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0'))), false, 'other sources');

  rmSync(output);
  assert.equal(stamp.isCurrent(fingerprint), false, 'an output removed since');
  writeFileSync(output, '');

  // A build that starts clears the stamp first: one that fails half-way leaves none behind.
  stamp.clear();
  assert.equal(stamp.isCurrent(fingerprint), false, 'cleared at the start of a build');
});
