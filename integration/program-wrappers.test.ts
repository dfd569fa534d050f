// The programs' wrappers (./airlock, ./airlock-agent, ./airlock-relay → scripts/run-ts.sh) start
// Node the way a packaged install does; this checks which Node flags each one gets.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { longRunningNodeFlags, repoRoot } from '../bench/src/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-wrappers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// Loaded before the program's own code: reports the flags Node was started with, then stops.
const probe = join(dir, 'probe.mjs');
writeFileSync(probe, 'process.stdout.write(JSON.stringify(process.execArgv)); process.exit(0);\n');

function startsWithFlags(wrapper: string, args: string[]): boolean {
  const r = spawnSync(join(repoRoot, wrapper), args, {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: `--import=${probe}` },
  });
  assert.equal(r.status, 0, `${wrapper} ${args.join(' ')}: ${r.stderr}`);
  const argv = JSON.parse(r.stdout) as string[];
  const flags = longRunningNodeFlags();
  const present = flags.filter((f) => argv.includes(f));
  // All or none: a partial set would mean the file was read wrongly.
  assert.ok(present.length === 0 || present.length === flags.length, `${wrapper}: ${argv.join(' ')}`);
  return present.length > 0;
}

test('the long-running programs start with the Node flags: agent, relay, airlock forward and sftp-stdio', () => {
  assert.ok(longRunningNodeFlags().length > 0);
  assert.ok(startsWithFlags('airlock-agent', ['--help']));
  assert.ok(startsWithFlags('airlock-relay', ['--help']));
  assert.ok(startsWithFlags('airlock', ['forward', '--help']));
  assert.ok(startsWithFlags('airlock', ['sftp-stdio', '--help']));
  assert.ok(startsWithFlags('airlock', ['-v', 'forward', '--help']), 'the global -v before the command');
});

test("the CLI's other commands do not: a flag V8 hashes costs every command its start-up", () => {
  for (const args of [['--help'], ['exec', '--help'], ['shell', '--help'], ['-v', 'vms', '--help'], ['ui', 'forward']])
    assert.equal(startsWithFlags('airlock', args), false, args.join(' '));
});
