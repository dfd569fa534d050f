import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { airlockBin } from '../../integration/harness.js';

export interface UiProcess {
  child: ChildProcess;
  /** The address with the launch secret, as `airlock ui --no-open` prints it. */
  url: string;
  /** What the host logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/** `airlock ui --no-open` as a person starts it, with its own AIRLOCK_HOME and environment. */
export async function startUi(env: Record<string, string>): Promise<UiProcess> {
  const child = spawn(airlockBin, ['ui', '--no-open'], {
    env: { ...process.env, AIRLOCK_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const pattern = /http:\/\/127\.0\.0\.1:\d+\/#secret=\S+/;
  const deadline = Date.now() + 60_000;
  while (!pattern.test(stdout)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`airlock ui did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url: pattern.exec(stdout)![0],
    log: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit');
      clearTimeout(t);
    },
  };
}
