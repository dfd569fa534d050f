import { readdirSync, readFileSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Signals for everything a user process started. Each shell, command or subsystem the agent
 * starts is a session and group leader (node-pty and `detached` both call setsid), so its process
 * group is signalled at once and the rest of its session — jobs that moved to groups of their own
 * — once /proc has been read. The leader having exited changes nothing: background jobs live on.
 */

/** After SIGHUP, the process we started (not its detached jobs) gets SIGKILL if it still runs. */
const KILL_GRACE_MS = 2000;

/** How many /proc entries are read in one turn of the event loop (~0.8 ms here). */
const PROC_READS_PER_TURN = 64;

interface ProcessSession {
  pid: number;
  /** The session id (the pid of its leader). */
  session: number;
}

/**
 * The live (not zombie) processes and their session, a batch at a time as /proc is read; none on
 * a system without /proc. Each batch is read synchronously and the event loop gets a turn before
 * the next: on a VM running thousands of processes one synchronous scan would stop every
 * session's traffic for as long as it takes, and reading each file through promises costs several
 * times the CPU (measured: 5–10 ms a scan of 75 processes against 0.9 ms). Batches also let what is
 * found be signalled while it is fresh (a process that exits frees its pid for reuse).
 */
export async function* processSessions(proc = '/proc'): AsyncGenerator<ProcessSession[]> {
  let entries: string[];
  try {
    entries = readdirSync(proc).filter((name) => /^\d+$/.test(name));
  } catch {
    return;
  }
  for (let i = 0; i < entries.length; i += PROC_READS_PER_TURN) {
    if (i > 0) await nextTurn();
    const found: ProcessSession[] = [];
    for (const name of entries.slice(i, i + PROC_READS_PER_TURN)) {
      let stat: string;
      try {
        stat = readFileSync(`${proc}/${name}/stat`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      // "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (f[0] !== 'Z') found.push({ pid: Number(name), session: Number(f[3]) });
    }
    yield found;
  }
}

/** Signals asked for, by session leader, that the next /proc scan delivers. */
const waiting = new Map<number, NodeJS.Signals[]>();
let scan: Promise<void> | undefined;

/**
 * Sends `sig` to the process group of `leader` now and to every other process of its session once
 * /proc has been read. One scan serves every session asked for meanwhile: when many sessions end
 * together (the agent shutting down) /proc is read once or twice, not once per session.
 */
export function signalSession(leader: number, sig: NodeJS.Signals): void {
  if (leader <= 0) return;
  try {
    process.kill(-leader, sig);
  } catch {
    // no such group (any more)
  }
  const list = waiting.get(leader);
  if (list) list.push(sig);
  else waiting.set(leader, [sig]);
  scan ??= scanWhileAsked();
}

async function scanWhileAsked(): Promise<void> {
  for (;;) {
    if (waiting.size === 0) {
      scan = undefined; // in the same turn as the check: a request after it starts a new scan
      return;
    }
    const now = new Map(waiting);
    waiting.clear();
    for await (const batch of processSessions()) {
      for (const { pid, session } of batch) {
        for (const sig of now.get(session) ?? []) {
          try {
            process.kill(pid, sig);
          } catch {
            // exited meanwhile
          }
        }
      }
    }
  }
}

/** Resolves once every signal asked for so far has been delivered (the agent awaits it before it exits). */
export async function signalsDelivered(): Promise<void> {
  while (scan) await scan;
}

/**
 * What a terminal hang-up does under OpenSSH: SIGHUP to the whole tree, so ordinary background
 * jobs end with the session, while a job that chose to ignore it (`nohup python train.py &`, the
 * way researchers keep long runs alive) survives. Only the process we started is forced, and only
 * while it still runs: once it has exited and been reaped its pid may belong to someone else.
 */
export function hangUp(leader: number, stillRunning: () => boolean, graceMs = KILL_GRACE_MS): void {
  signalSession(leader, 'SIGHUP');
  const t = setTimeout(() => {
    if (!stillRunning()) return;
    try {
      process.kill(leader, 'SIGKILL');
    } catch {
      // already gone
    }
  }, graceMs);
  t.unref();
}
