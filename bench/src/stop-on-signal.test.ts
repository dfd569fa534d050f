import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { processAlive } from '@airlock/shared';
import { within } from '@airlock/shared/testing';

const dir = mkdtempSync(join(tmpdir(), 'airlock-stop-on-signal-'));
const pids: number[] = [];
after(() => {
  for (const pid of pids) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A tool as the bench, load and soak tools are made: it starts a child, makes a folder, and
 * cleans both up on a signal. Resolves once it says the child's pid.
 */
async function tool(name: string) {
  const folder = join(dir, name);
  const module = JSON.stringify(new URL('./stop-on-signal.ts', import.meta.url).href);
  const code = `
    import { spawn } from 'node:child_process';
    import { mkdirSync } from 'node:fs';
    const { cleanUpOnSignal, stopAllAndRemove } = await import(${module});
    mkdirSync(${JSON.stringify(folder)});
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const stops = [() => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); })];
    cleanUpOnSignal('tool', () => stopAllAndRemove(stops, ${JSON.stringify(folder)}));
    console.log('child ' + child.pid);
    setInterval(() => {}, 1000);`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid !== undefined) pids.push(proc.pid);
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const childPid = await within(
    new Promise<number>((resolve) =>
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /child (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      }),
    ),
    30_000,
    'the tool to start its child',
  );
  pids.push(childPid);
  return { proc, folder, childPid, exited: within(exited, 30_000, 'the tool to exit'), stderr: () => err };
}

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const)
  test(`${signal} sent to the tool alone stops the processes it started, removes its folder, and exits ${code}`, async () => {
    const t = await tool(signal);
    assert.ok(existsSync(t.folder));
    t.proc.kill(signal);
    assert.deepEqual(await t.exited, [code, null], t.stderr());
    assert.equal(processAlive(t.childPid), false, 'the child was stopped, not left running');
    assert.equal(existsSync(t.folder), false, 'the folder was removed');
    assert.match(t.stderr(), new RegExp(`tool: ${signal}: stopping the processes it started`));
  });
