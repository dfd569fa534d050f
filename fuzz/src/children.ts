import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endsWithThisProcess } from '@airlock/shared/testing';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A program under fuzz as a real child process: "alive" means it has not exited. */
export interface Child {
  proc: ChildProcess;
  pid: number;
  alive(): boolean;
  /** The last 4 KiB of its stdout and stderr (what it said before dying). */
  tail(): string;
  /**
   * Log lines in which the process guard reported a bug (a stray rejection or exception it
   * survived): the crash the guard prevented, which the fuzzer counts as one.
   */
  bugs(): string[];
  stop(): Promise<void>;
}

export function startChild(
  wrapper: 'airlock-relay' | 'airlock-agent',
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Child {
  const proc = endsWithThisProcess(
    spawn(join(repoRoot, wrapper), args, {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    }),
  );
  let out = '';
  let partial = '';
  const bugs: string[] = [];
  const keep = (d: Buffer) => {
    const text = d.toString();
    out = (out + text).slice(-4096);
    const lines = (partial + text).split('\n');
    partial = lines.pop()!.slice(-65_536);
    for (const l of lines) if (/"bug":"(unhandledRejection|uncaughtException)"/.test(l)) bugs.push(l.slice(0, 2000));
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return {
    proc,
    pid: proc.pid!,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    tail: () => out,
    bugs: () => bugs,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await once(proc, 'exit');
      clearTimeout(t);
    },
  };
}

/** Waits for `pattern` in the child's output (stdout or stderr); returns the match. */
export function waitForOutput(child: Child, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${pattern}; output: ${child.tail()}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = pattern.exec(seen);
      if (m) {
        cleanup();
        resolve(m);
      }
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`exited before ${pattern}: ${child.tail()}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.proc.stdout!.off('data', onData);
      child.proc.stderr!.off('data', onData);
      child.proc.off('exit', onExit);
    };
    child.proc.stdout!.on('data', onData);
    child.proc.stderr!.on('data', onData);
    child.proc.once('exit', onExit);
  });
}
