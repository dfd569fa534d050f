// The programs' wrappers (./airlock, ./airlock-agent, ./airlock-relay → scripts/run-ts.sh) start
// Node the way a packaged install does; this checks which Node flags each one gets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { daemonNodeFlags, repoRoot } from '../bench/src/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-wrappers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// Loaded before the program's own code: reports the flags Node was started with, then stops.
const probe = join(dir, 'probe.mjs');
writeFileSync(probe, 'process.stdout.write(JSON.stringify(process.execArgv)); process.exit(0);\n');

function execArgvOf(wrapper: string): string[] {
  const r = spawnSync(join(repoRoot, wrapper), ['--help'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: `--import=${probe}` },
  });
  assert.equal(r.status, 0, `${wrapper}: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

test('airlock-agent and airlock-relay run with the daemon Node flags', () => {
  const flags = daemonNodeFlags();
  for (const wrapper of ['airlock-agent', 'airlock-relay']) {
    const argv = execArgvOf(wrapper);
    for (const flag of flags) assert.ok(argv.includes(flag), `${wrapper} started without ${flag}: ${argv.join(' ')}`);
  }
});

test('the airlock command line does not: a flag V8 hashes costs every command its start-up', () => {
  const argv = execArgvOf('airlock');
  for (const flag of daemonNodeFlags()) assert.ok(!argv.includes(flag), `airlock started with ${flag}`);
});
