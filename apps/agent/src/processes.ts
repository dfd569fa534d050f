import { spawn as spawnChild } from 'node:child_process';
import { constants } from 'node:os';
import * as pty from 'node-pty';
import { ownedChannelData } from '@airlock/shared/ssh';
import { commandAs, userEnv, type OsUser } from './os-user.js';
import { PtyInput } from './pty-input.js';
import { hangUp, signalSession } from './session-signals.js';

/** How a user process ended: an exit code, or a signal name without the SIG prefix (SSH style). */
export interface ProcessExit {
  code?: number;
  signal?: string;
}

export interface ProcessSinks {
  stdout: (data: Buffer) => void;
  /** Only for processes without a pty (a pty merges stderr into its output). */
  stderr: (data: Buffer) => void;
  /** Called once, after all output has been delivered to the sinks. */
  exit: (exit: ProcessExit) => void;
}

/** A running shell, command or subsystem, with or without a pty. */
export interface UserProcess {
  readonly pid: number;
  /** Writes client input; `done` fires when the process has taken it (then adjust the window). */
  write(data: Buffer, done: () => void): void;
  endInput(): void;
  setPaused(paused: boolean): void;
  resize(cols: number, rows: number): void;
  signal(sig: NodeJS.Signals): void;
  /** The client went away: SIGHUP now, SIGKILL if it lingers. */
  hangup(): void;
}

export interface SpawnSpec {
  user: OsUser;
  shell: string;
  file: string;
  args: string[];
  /** Extra environment (TERM for a pty, AIRLOCK_SESSION_ID). */
  env?: Record<string, string | undefined>;
}

function signalName(sig: number | string | null | undefined): string | undefined {
  if (sig === null || sig === undefined || sig === 0) return undefined;
  const name =
    typeof sig === 'string' ? sig : (Object.entries(constants.signals).find(([, n]) => n === sig)?.[0] ?? `SIG${sig}`);
  return name.replace(/^SIG/, '');
}

export function spawnPty(
  spec: SpawnSpec,
  size: { term: string; cols: number; rows: number },
  sinks: ProcessSinks,
): UserProcess {
  const cmd = commandAs(spec.user, spec.file, spec.args);
  const p = pty.spawn(cmd.file, cmd.args, {
    name: size.term || 'xterm-256color',
    cols: size.cols || 80,
    rows: size.rows || 24,
    cwd: spec.user.home,
    env: userEnv(spec.user, spec.shell, { TERM: size.term || 'xterm-256color', ...spec.env }),
    encoding: null,
  });
  let exited = false;
  // UnixTerminal's `fd` (the master side) is public; the IPty typings leave it out. node-pty
  // marks itself unwritable (`_close()`) before it closes that descriptor, on every path.
  const term = p as unknown as { fd: number; _writable?: boolean };
  const input = new PtyInput(term.fd, () => term._writable !== false);
  p.onData((d) => sinks.stdout(d as unknown as Buffer));
  p.onExit(({ exitCode, signal }) => {
    exited = true;
    input.close();
    const sig = signalName(signal);
    sinks.exit(sig ? { signal: sig } : { code: exitCode });
  });
  return {
    pid: p.pid,
    write(data, done) {
      input.write(ownedChannelData(data), done);
    },
    endInput() {
      // A terminal has no input EOF; OpenSSH leaves a pty session running too.
    },
    setPaused(paused) {
      if (exited) return;
      if (paused) p.pause();
      else p.resume();
    },
    resize(cols, rows) {
      if (!exited && cols > 0 && rows > 0) p.resize(cols, rows);
    },
    signal(sig) {
      if (!exited) p.kill(sig);
    },
    hangup() {
      // Even after the shell exited: background jobs may still hold the terminal.
      hangUp(p.pid, () => !exited);
      input.close();
      // Closing our side hangs the terminal up and frees its descriptor, whatever is left
      // (UnixTerminal has destroy(); the IPty typings leave it out).
      (p as unknown as { destroy?: () => void }).destroy?.();
    },
  };
}

export function spawnPiped(spec: SpawnSpec, sinks: ProcessSinks): UserProcess {
  const cmd = commandAs(spec.user, spec.file, spec.args);
  const child = spawnChild(cmd.file, cmd.args, {
    cwd: spec.user.home,
    env: userEnv(spec.user, spec.shell, spec.env),
    stdio: ['pipe', 'pipe', 'pipe'],
    // Own process group, so a hang-up reaches the whole command line (pipelines, subshells).
    detached: true,
  });
  // 'exit' is the shell itself; 'close' comes once every holder of its output pipes is done,
  // background jobs included. Until then the group is still ours to signal.
  let closed = false;
  let exitReported = false;
  const report = (exit: ProcessExit): void => {
    if (exitReported) return;
    exitReported = true;
    sinks.exit(exit);
  };
  child.stdout.on('data', (d: Buffer) => sinks.stdout(d));
  child.stderr.on('data', (d: Buffer) => sinks.stderr(d));
  child.stdin.on('error', () => {}); // EPIPE when the process stops reading: not our failure
  // Input waiting for the pipe to drain is acknowledged by one 'drain' listener, however many
  // chunks wait (a listener per chunk piles up on a large upload: MaxListenersExceededWarning).
  let waitingForDrain: (() => void)[] = [];
  const releaseWaiting = (): void => {
    const waiting = waitingForDrain;
    waitingForDrain = [];
    for (const done of waiting) done();
  };
  child.stdin.on('drain', releaseWaiting);
  child.stdin.on('close', releaseWaiting);
  // 'close' comes after all stdio has ended, so every byte has reached the sinks.
  child.on('close', (code, signal) => {
    closed = true;
    const sig = signalName(signal);
    report(sig ? { signal: sig } : { code: code ?? 0 });
  });
  child.on('error', (e) => {
    closed = true;
    sinks.stderr(Buffer.from(`airlock-agent: cannot start ${spec.file}: ${e.message}\n`));
    report({ code: 127 });
  });
  return {
    pid: child.pid ?? -1,
    write(data, done) {
      if (child.stdin.destroyed || child.stdin.writableEnded) return done();
      if (child.stdin.write(ownedChannelData(data)) && waitingForDrain.length === 0) done();
      else waitingForDrain.push(done);
    },
    endInput() {
      if (!child.stdin.writableEnded) child.stdin.end();
    },
    setPaused(paused) {
      for (const s of [child.stdout, child.stderr]) {
        if (paused) s.pause();
        else s.resume();
      }
    },
    resize() {},
    signal(sig) {
      if (!closed && child.pid !== undefined) signalSession(child.pid, sig);
    },
    hangup() {
      // Always, even after the shell exited: `sleep 99 &` outlives it in the same group.
      if (child.pid !== undefined) hangUp(child.pid, () => child.exitCode === null && child.signalCode === null);
      // Nobody reads the output any more; let go of the pipes so 'close' is not held up.
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
    },
  };
}
