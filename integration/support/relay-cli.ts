import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, type CliResult } from '../harness.js';

/** Runs `airlock-relay …` as the admin would, async (the relay under test shares this process). */
export function relayCli(dataDir: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(repoRoot, 'airlock-relay'), ['--data-dir', dataDir, ...args], { stdio: 'pipe' });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString(), stderr, stdoutBytes });
    });
    child.stdin.end();
  });
}
