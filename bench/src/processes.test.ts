import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { longRunningNodeFlags } from './processes.js';

test("long-running programs' Node flags: comments and blank lines skipped, several flags on a line split", () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-flags-'));
  try {
    const file = join(dir, 'flags');
    writeFileSync(file, '# why\n\n--one=1\n  --two --three=3  \n# --not-this\n--four');
    assert.deepEqual(longRunningNodeFlags(file), ['--one=1', '--two', '--three=3', '--four']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the repository's long-running flags are options this Node accepts (a wrong one would stop the agent and relay from starting)", () => {
  const flags = longRunningNodeFlags();
  assert.ok(flags.length > 0);
  const r = spawnSync(process.execPath, [...flags, '-e', '0'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
