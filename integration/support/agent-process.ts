// The agent as a real child process of a test, through the repo's wrapper; its output kept for
// the test to read, and stopped (SIGTERM, then SIGKILL after 3 s) at teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { endsWithThisProcess } from '@airlock/shared/testing';

export interface AgentProcess {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export function spawnAgent(repoRoot: string, configFile: string): AgentProcess {
  const child = endsWithThisProcess(
    spawn(join(repoRoot, 'airlock-agent'), ['--config', configFile], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AIRLOCK_LOG_LEVEL: 'debug' },
    }),
  );
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await once(child, 'exit');
      clearTimeout(t);
    },
  };
}
