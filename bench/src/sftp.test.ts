import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { wrapTransport } from './sftp.js';

test("a wrapped transport runs its command with sftp's arguments after it and writes its CPU time", () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-sftp-'));
  try {
    // A quote in the command survives the script; the arguments sftp adds come after it.
    const t = wrapTransport(dir, 'printer', '-S', ['printf', '%s|', "it's"]);
    const r = spawnSync(t.script, ['-p', '22', 'user@host'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "it's|-p|22|user@host|");
    // bash's `times`: the shell's own line, then its children's, each "XmY.YYYs XmY.YYYs".
    const lines = readFileSync(t.timesFile, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) assert.match(line, /^\d+m[\d.]+s \d+m[\d.]+s$/);
    // The transport's exit status is the script's.
    const failing = wrapTransport(dir, 'false', '-D', ['false']);
    assert.equal(spawnSync(failing.script).status, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
