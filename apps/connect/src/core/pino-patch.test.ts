import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// pino asks for its caller's file names whenever a logger is made (to resolve transport targets);
// patches/pino+*.patch makes it take them from a stack trace rather than util.getCallSites,
// which works out every frame's line and column: for a frame in the CLI's one large script, V8
// first scans all of it for line ends (patches/README.md).
test('making a pino logger does not call util.getCallSites, and pino still finds its caller’s file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-pino-patch-'));
  try {
    const file = join(dir, 'caller.cjs');
    const require = createRequire(import.meta.url);
    writeFileSync(
      file,
      `const util = require('node:util');
      util.getCallSites = () => { throw new Error('util.getCallSites was called'); };
      const pino = require(${JSON.stringify(require.resolve('pino'))});
      const getCallers = require(${JSON.stringify(require.resolve('pino/lib/caller'))});
      pino({ level: 'silent' });
      (function wrapper() { (function inner() { console.log(JSON.stringify(getCallers())); })(); })();`,
    );
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // The frames above getCallers' caller (inner): wrapper's, then the file's top level.
    assert.deepEqual((JSON.parse(r.stdout) as string[]).slice(0, 2), [file, file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
