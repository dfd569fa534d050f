import assert from 'node:assert/strict';
import { spawn as spawnChild } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as pty from 'node-pty';
import { RELAY_ONLY_NOTICE } from '../trust-notice.js';

/** The real `airlock` wrapper script at the repo root. */
export const AIRLOCK = fileURLToPath(new URL('../../../../../airlock', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `airlock` with pipes and no controlling terminal (its own session, like a job under cron
 * or `sftp -D`), so nothing can prompt: the deterministic "not on a terminal" case.
 */
export function airlock(
  home: string,
  args: string[],
  input?: string | Buffer,
  env: NodeJS.ProcessEnv = {},
): Promise<Run> {
  const child = spawnChild(AIRLOCK, args, {
    env: { ...process.env, AIRLOCK_HOME: home, AIRLOCK_ASKPASS: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  child.stdin.on('error', () => {});
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** `airlock` on a real pseudo-terminal: what a person at a terminal sees and types. */
export interface PtyRun {
  /** Everything the terminal showed so far. */
  readonly output: string;
  /** Resolves with the output once `pattern` appears after the previous match; rejects after `ms`. */
  expect(pattern: RegExp, ms?: number): Promise<string>;
  /** Types a line (Enter is a carriage return on a terminal). */
  line(text: string): void;
  readonly exit: Promise<number>;
  kill(): void;
}

export function airlockOnPty(home: string, args: string[], env: NodeJS.ProcessEnv = {}): PtyRun {
  const term = pty.spawn(AIRLOCK, args, {
    name: 'xterm',
    cols: 120,
    rows: 60,
    env: { ...process.env, AIRLOCK_HOME: home, AIRLOCK_ASKPASS: '', ...env } as Record<string, string>,
  });
  let output = '';
  let consumed = 0;
  const watchers = new Set<() => void>();
  term.onData((d) => {
    output += d;
    for (const w of [...watchers]) w();
  });
  const exit = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
  void exit.then(() => {
    for (const w of [...watchers]) w();
  });
  let exited = false;
  void exit.then(() => (exited = true));
  return {
    get output() {
      return output;
    },
    expect(pattern, ms = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const rest = output.slice(consumed);
          const m = pattern.exec(rest);
          if (m) {
            consumed += m.index + m[0].length;
            done();
            resolve(rest.slice(0, m.index + m[0].length));
          } else if (exited) {
            done();
            reject(new Error(`airlock exited before ${pattern} appeared; output:\n${output}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${ms} ms waiting for ${pattern}; output:\n${output}`));
        }, ms);
        const done = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    line(text) {
      term.write(text + '\r');
    },
    exit,
    kill() {
      if (!exited) term.kill('SIGKILL');
    },
  };
}

/**
 * For a device enrolled with a u1 code (no organisation root): a command that talks to the
 * relay starts its stderr with the trust notice, exactly once; what follows is the command's own.
 */
export function pastNotice(r: Run): string {
  const line = `${RELAY_ONLY_NOTICE}\n`;
  assert.ok(r.stderr.startsWith(line), `no trust notice first: ${r.stderr}`);
  const rest = r.stderr.slice(line.length);
  assert.ok(!rest.includes(RELAY_ONLY_NOTICE), `the trust notice twice: ${r.stderr}`);
  return rest;
}
