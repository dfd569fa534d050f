import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const child = join(dirname(fileURLToPath(import.meta.url)), 'reaped-child.ts');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const)
  test(`a process stopped with ${signal} (as the test runner stops a file that overran) takes its children with it`, async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(parent.stdout, 'data')) as [Buffer];
    const sleeper = Number(line.toString().trim());
    assert.ok(sleeper > 0 && alive(sleeper), 'the child is running');
    parent.kill(signal);
    const [code] = (await once(parent, 'exit')) as [number | null];
    assert.equal(code, signal === 'SIGTERM' ? 143 : 130);
    // Killed with SIGKILL before the parent exited; a moment for the kernel to reap it (its parent
    // is gone, so init collects it).
    const deadline = Date.now() + 5000;
    while (alive(sleeper) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(sleeper), false, `sleep ${sleeper} outlived the process that started it`);
  });
