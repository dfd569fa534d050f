import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { VmSession } from '@airlock/connect';
import type { PrivateSshd } from './openssh.js';
import { percentile } from './stats.js';

export interface EchoLatency {
  p50: number;
  p99: number;
  samples: number;
  /**
   * The same number of keystrokes again after `warmup` more in the same session: the three
   * processes' code on this path compiled and optimised, as in a session someone has typed in
   * for a while (the first ones run in V8's interpreter). Absent when `warmup` is 0.
   */
  warm?: { p50: number; p99: number; samples: number; after: number };
}

/** A terminal to type into: what is written to `stdin` reaches a PTY, what it prints comes out of `stdout`. */
interface Terminal {
  stdin: Writable;
  stdout: Readable;
  /** Why the output ended early, for the error (a child's stderr, say). */
  whyEnded(): string;
  close(): Promise<void>;
}

const KEYSTROKES = 400;
/** The remote command: a PTY in raw mode without echo, so every byte `cat` prints is one typed. */
const RAW_CAT = 'stty raw -echo; echo READY; exec cat';

/** Types `count` keystrokes, one at a time, each once the previous one has come back; their round trips in ms. */
async function typeKeystrokes(t: Terminal, next: () => Promise<string>, count: number): Promise<number[]> {
  const echo: number[] = [];
  for (let i = 0; i < count; i++) {
    const ch = String.fromCharCode(97 + (i % 26));
    const t0 = performance.now();
    t.stdin.write(ch);
    while (!(await next()).includes(ch));
    echo.push(performance.now() - t0);
  }
  return echo;
}

function latency(echo: number[]): { p50: number; p99: number; samples: number } {
  return { p50: percentile(echo, 0.5), p99: percentile(echo, 0.99), samples: echo.length };
}

/** One byte at a time through a PTY running `cat` in raw mode, cold then after `warmup` more; closes the terminal. */
async function measure(t: Terminal, warmup: number): Promise<EchoLatency> {
  let seen = '';
  let ended = false;
  let waiter: (() => void) | undefined;
  t.stdout.on('data', (d: Buffer) => {
    seen += d.toString('latin1');
    waiter?.();
  });
  t.stdout.once('close', () => {
    ended = true;
    waiter?.();
  });
  // What has come since the last call, once something has; an error once nothing more can come.
  const next = async (): Promise<string> => {
    while (seen === '') {
      if (ended) throw new Error(`the terminal's output ended during the echo measurement: ${t.whyEnded()}`);
      await new Promise<void>((r) => (waiter = r));
    }
    const got = seen;
    seen = '';
    return got;
  };
  try {
    t.stdin.write(`${RAW_CAT}\r`);
    let banner = '';
    while (!banner.includes('READY')) banner += await next();
    await new Promise((r) => setTimeout(r, 300));
    seen = '';
    const cold = latency(await typeKeystrokes(t, next, KEYSTROKES));
    let warm: EchoLatency['warm'];
    if (warmup > 0) {
      await typeKeystrokes(t, next, warmup);
      warm = { ...latency(await typeKeystrokes(t, next, KEYSTROKES)), after: KEYSTROKES + warmup };
    }
    return { ...cold, ...(warm ? { warm } : {}) };
  } finally {
    await t.close();
  }
}

/** Echo through an Airlock session's shell (Connect's core in this process); closes the session. */
export async function measureSessionEcho(s: VmSession, warmup: number): Promise<EchoLatency> {
  const sh = await s.openShell({ pty: true, cols: 80, rows: 24 });
  if (!sh.ok) throw new Error(sh.error.message);
  return measure(
    {
      stdin: sh.value.stdin,
      stdout: sh.value.stdout,
      whyEnded: () => 'the shell ended',
      close: () => s.close(),
    },
    warmup,
  );
}

/** Types into a child's stdin and reads its stdout: a terminal program run through pipes. */
async function measureChildEcho(command: string, args: string[], env: Record<string, string>, warmup: number) {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return measure(
    {
      stdin: child.stdin,
      stdout: child.stdout,
      whyEnded: () => `${[command, ...args].join(' ')} ended; it said: ${stderr.trim() || '(nothing)'}`,
      close: async () => {
        child.kill();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(kill);
      },
    },
    warmup,
  );
}

/**
 * The same through OpenSSH: `ssh -tt` to the bench's private sshd, typed into through a pipe (a
 * process hop Connect's core, running in this process, does not have).
 */
export function measureOpensshEcho(sshd: PrivateSshd, warmup: number): Promise<EchoLatency> {
  // The command is sent as the shell's first line, as for Airlock: `ssh -tt` with a command
  // would skip the login shell the agent also starts.
  return measureChildEcho('ssh', ['-tt', ...sshd.sshArgs], {}, warmup);
}

/**
 * The same as a person at the command line has it, and as OpenSSH's is measured: `airlock shell
 * -t` started for it (its code as cold as every new command's), typed into through a pipe.
 */
export function measureCliEcho(airlock: string, home: string, vm: string, warmup: number): Promise<EchoLatency> {
  return measureChildEcho(airlock, ['shell', '-t', vm], { AIRLOCK_HOME: home }, warmup);
}
