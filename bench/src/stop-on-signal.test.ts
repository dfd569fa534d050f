import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
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

const moduleUrl = (name: string) => JSON.stringify(new URL(name, import.meta.url).href);

/**
 * A tool made as the bench, load and soak tools are: a folder, a child that is ready (in its
 * list of stops) and one still starting (never ready), cleanup on a signal, and a `finally` of its
 * own around a wait that fails when its ready child goes — as a measurement does. Resolves once
 * both children are running.
 */
async function tool(name: string) {
  const folder = join(dir, name);
  const startingPidFile = join(dir, `${name}.starting`);
  // Says its pid in a file and never prints the JSON line that would make it ready.
  const startingCode = `require('fs').writeFileSync(${JSON.stringify(startingPidFile)}, String(process.pid)); setInterval(() => {}, 1000)`;
  const code = `
    import { spawn } from 'node:child_process';
    import { mkdirSync } from 'node:fs';
    const { cleanUpOnSignal, stopAllAndRemove } = await import(${moduleUrl('./stop-on-signal.ts')});
    const { startJsonChild } = await import(${moduleUrl('./processes.ts')});
    mkdirSync(${JSON.stringify(folder)});
    const ready = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const stops = [() => new Promise((resolve) => { ready.once('exit', resolve); ready.kill('SIGTERM'); })];
    cleanUpOnSignal('tool', () => stopAllAndRemove(stops, ${JSON.stringify(folder)}));
    startJsonChild(process.execPath, ['-e', ${JSON.stringify(startingCode)}]).catch(() => {});
    console.log('ready ' + ready.pid);
    try {
      await new Promise((_, reject) => ready.once('exit', () => reject(new Error('the measurement lost its child'))));
    } finally {
      await stopAllAndRemove(stops, ${JSON.stringify(folder)});
    }
    process.exit();`;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (proc.pid !== undefined) pids.push(proc.pid);
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const readyPid = await within(
    new Promise<number>((resolve) =>
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /ready (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      }),
    ),
    30_000,
    'the tool to start its children',
  ).catch((e: Error) => {
    throw new Error(`${e.message}; stderr: ${err}`);
  });
  pids.push(readyPid);
  const startingPid = await within(
    (async () => {
      while (!existsSync(startingPidFile)) await new Promise((r) => setTimeout(r, 20));
      return Number(readFileSync(startingPidFile, 'utf8'));
    })(),
    30_000,
    'the starting child to run',
  );
  pids.push(startingPid);
  return { proc, folder, readyPid, startingPid, exited: within(exited, 30_000, 'the tool to exit'), stderr: () => err };
}

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const)
  test(`${signal} to the tool alone: its children stopped (ready or starting), its folder gone, exit ${code}`, async () => {
    const t = await tool(signal);
    assert.ok(existsSync(t.folder));
    t.proc.kill(signal);
    assert.deepEqual(await t.exited, [code, null], t.stderr());
    assert.equal(processAlive(t.readyPid), false, 'the ready child was stopped');
    assert.equal(processAlive(t.startingPid), false, 'the child still starting was stopped');
    assert.equal(existsSync(t.folder), false, 'the folder was removed');
    assert.match(t.stderr(), new RegExp(`tool: ${signal}: stopping the processes it started`));
    // The tool's own failure (its child went) neither changed the status nor printed a stack.
    assert.doesNotMatch(t.stderr(), /lost its child/);
  });
