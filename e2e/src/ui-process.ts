import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { endsWithThisProcess } from '@airlock/shared/testing';
import { airlockBin } from '../../integration/harness.js';

export interface UiProcess {
  child: ChildProcess;
  /** The address with the launch secret, as `airlock ui --no-open` prints it. */
  url: string;
  /** What the host logged so far. */
  log(): string;
  /** What it printed on stdout so far. */
  printed(): string;
  stop(): Promise<void>;
}

/** `airlock ui --no-open` as a person starts it, with its own AIRLOCK_HOME and environment. */
export async function startUi(env: Record<string, string>): Promise<UiProcess> {
  const child = endsWithThisProcess(
    spawn(airlockBin, ['ui', '--no-open'], {
      env: { ...process.env, AIRLOCK_LOG_LEVEL: 'debug', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let stdout = '';
  let stderr = '';
  const pattern = /http:\/\/127\.0\.0\.1:\d+\/#secret=\S+/;
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  // Taken the moment it is printed (the bench times app start from here).
  const url = await new Promise<string>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(deadline);
      child.kill('SIGKILL');
      reject(new Error(`airlock ui did not start (${why}): ${stderr}`));
    };
    const deadline = setTimeout(() => fail('no address within 60 s'), 60_000);
    child.once('exit', (code, signal) => fail(`exited ${code ?? signal}`));
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const found = pattern.exec(stdout)?.[0];
      if (!found) return;
      clearTimeout(deadline);
      child.removeAllListeners('exit');
      resolve(found);
    });
  });
  return {
    child,
    url,
    log: () => stderr,
    printed: () => stdout,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await once(child, 'exit');
      clearTimeout(t);
    },
  };
}
