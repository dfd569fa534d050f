// The npm scripts' bootstrap (scripts/run.mjs) runs each task as a child (scripts/run-task.mjs): a
// signal sent to the bootstrap alone must reach the task, and the task's end must be the bootstrap's.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { processAlive } from '@airlock/shared';
import { within } from '@airlock/shared/testing';
import { repoRoot } from '../bench/src/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-run-task-'));
/** Every runner and task (tasks say their pid); none may outlive the test file, even when a test fails. */
const pids: number[] = [];
after(() => {
  for (const pid of pids) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The bootstrap's runner with `task` (Node code, or with `shell`, sh code) as its task; resolves
 * once the task says "ready".
 */
async function runner(task: string, shell = false) {
  const runTask = join(repoRoot, 'scripts', 'run-task.mjs');
  const [command, args] = shell
    ? ['/bin/sh', ['-c', `echo pid $$; ${task}`]]
    : [process.execPath, ['-e', `console.log('pid ' + process.pid); ${task}`]];
  const code = `import { runTask } from ${JSON.stringify(runTask)}; runTask(${JSON.stringify(command)}, ${JSON.stringify(args)}, {});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid !== undefined) pids.push(child.pid);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await within(
    new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('ready') && resolve())),
    20_000,
    'the task to start',
  );
  const pid = Number(/pid (\d+)/.exec(out)?.[1]);
  pids.push(pid);
  return { child, pid, exited: within(exited, 20_000, 'the runner to exit') };
}

test('SIGTERM sent to the bootstrap alone reaches the task, which closes; the bootstrap exits as the task did', async () => {
  const marker = join(dir, 'closed');
  const task = `process.on('SIGTERM', () => { require('fs').writeFileSync(${JSON.stringify(marker)}, 'closed'); process.exit(0); });
    setInterval(() => {}, 1000); console.log('ready');`;
  const { child, exited } = await runner(task);
  child.kill('SIGTERM');
  assert.deepEqual(await exited, [0, null]);
  assert.ok(existsSync(marker), 'the task saw the signal');
  assert.equal(readFileSync(marker, 'utf8'), 'closed');
});

test('a task ended by a signal ends the bootstrap by the same signal, and is not left running', async () => {
  const { child, pid, exited } = await runner(`setInterval(() => {}, 1000); console.log('ready');`);
  child.kill('SIGHUP');
  assert.deepEqual(await exited, [null, 'SIGHUP']);
  assert.equal(processAlive(pid), false, 'the task was ended with the bootstrap, not orphaned');
});

test("the task's exit status is the bootstrap's", async () => {
  const { exited } = await runner(`console.log('ready'); setTimeout(() => process.exit(7), 50);`);
  assert.deepEqual(await exited, [7, null]);
});

test('a task ended by a signal the bootstrap outlives (SIGPIPE) still fails the bootstrap, with 128 + the signal', async () => {
  // A shell, not Node: Node ignores SIGPIPE, so a Node task would not die of it.
  const { exited } = await runner('echo ready; sleep 0.05; kill -PIPE $$', true);
  assert.deepEqual(await exited, [141, null]);
});
