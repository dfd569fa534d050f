import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, type CliResult } from '../harness.js';

/** Runs one of the repo's admin tools (`airlock-relay`, `airlock-org`) as a real process, async. */
function runTool(tool: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(repoRoot, tool), args, { stdio: 'pipe', env: { ...process.env, ...env } });
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

/** Runs `airlock-relay …` as the admin would, async (the relay under test shares this process). */
export function relayCli(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runTool('airlock-relay', ['--data-dir', dataDir, ...args], env);
}

/** Runs `airlock-org …` on an organisation folder, as an admin on their workstation would. */
export function orgCli(orgDir: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runTool('airlock-org', ['--dir', orgDir, ...args], env);
}
