// CPU time of processes, from /proc/<pid>/stat (utime + stime, in clock ticks): what a transfer
// costs each program, measured as deltas around it. Whole process trees are summed, because
// OpenSSH's sshd does its work in a child it forks per connection and the wrappers may sit
// between the bench and a Node process. Linux only; elsewhere the CPU columns say "n/a".
import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc reports CPU time in these ticks (100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone, or not Linux
  }
  // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, and cutime 16, cstime 17:
  // the CPU of children it has waited for — sshd's per-connection child or the agent's
  // sftp-server that ended during the measurement still count.
  return {
    ppid: Number(fields[1]),
    cpuTicks: Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]),
  };
}

/** CPU seconds used so far by `root` and every process below it (threads and reaped children included). */
export function treeCpuSeconds(root: number): number | undefined {
  const stats = new Map<number, ProcStat>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = readStat(pid);
    if (s) stats.set(pid, s);
  }
  if (!stats.has(root)) return undefined;
  const children = new Map<number, number[]>();
  for (const [pid, s] of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  let ticks = 0;
  const todo = [root];
  while (todo.length) {
    const pid = todo.pop()!;
    ticks += stats.get(pid)?.cpuTicks ?? 0;
    todo.push(...(children.get(pid) ?? []));
  }
  return ticks / TICKS_PER_SECOND;
}

/** Named process trees whose CPU is read before and after a measured piece of work. */
export class CpuMeter {
  constructor(private readonly roots: Record<string, number | undefined>) {}

  /** Starts a reading; `stop()` returns CPU seconds per program over the interval. */
  start(): { stop(): Record<string, number> } {
    const before = this.read();
    return {
      stop: () => {
        const after = this.read();
        const used: Record<string, number> = {};
        for (const [name, t0] of Object.entries(before)) {
          const t1 = after[name];
          if (t1 !== undefined) used[name] = t1 - t0;
        }
        return used;
      },
    };
  }

  private read(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.roots)) {
      if (pid === undefined) continue;
      const t = pid === process.pid ? ownCpuSeconds() : treeCpuSeconds(pid);
      if (t !== undefined) out[name] = t;
    }
    return out;
  }
}

/** This process alone (the bench's own source and sink), without the children it started. */
function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * The CPU of the children a bash script has waited for, in seconds: the last line of bash's
 * `times` ("0m1.234s 0m0.567s", user then system).
 */
export function bashChildrenCpuSeconds(timesOutput: string): number {
  const last = timesOutput.trim().split('\n').at(-1) ?? '';
  const parts = [...last.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (parts.length !== 2) throw new Error(`cannot read a CPU time from bash's times: ${last}`);
  return parts[0]! + parts[1]!;
}
