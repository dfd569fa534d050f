import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const airlockBin = join(repoRoot, 'airlock');

export interface Child<T> {
  info: T;
  child: ChildProcess;
  stop(): void;
}

/** Starts a child and resolves with the first JSON line it prints on stdout. */
export function startJsonChild<T>(cmd: string, args: string[], env: Record<string, string> = {}): Promise<Child<T>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`${args.join(' ')} did not start: ${err}`)), 30_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(e);
    };
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => fail(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`)));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ info: JSON.parse(out.slice(0, nl)) as T, child, stop: () => child.kill('SIGTERM') });
    });
  });
}

export const tsxChild = <T>(script: string, args: string[], env?: Record<string, string>) =>
  startJsonChild<T>(process.execPath, ['--import', 'tsx', join(repoRoot, script), ...args], env);
