import { readFileSync } from 'node:fs';

/** What one door's run found. A crash is a watched process that exited, or a stray rejection/exception. */
export interface DoorStats {
  door: string;
  inputs: number;
  crashes: number;
  /** HTTP responses (or refused upgrades) with a 5xx status. */
  fiveXx: number;
  /** Whether the door is a child process (its memory is bounded) or this process. */
  childProcess: boolean;
  /** Resident memory of the process behind the door (the child, or this process for in-process doors). */
  rssStartMiB: number;
  rssEndMiB: number;
  /** One line per finding (crash, 5xx, broken expectation), with the input that caused it. */
  findings: string[];
  /** How inputs ended (status codes, close reasons…): shows how deep the door was reached. */
  outcomes: Record<string, number>;
  /** Resident memory (MiB) sampled through the run: a leak climbs, a warming heap levels off. */
  rssSeries: number[];
}

/** Samples the process's resident memory every `every` inputs (call once per input). */
export function sampleRss(stats: DoorStats, pid: number, every: number): void {
  if (stats.inputs % Math.max(1, every) === 0) stats.rssSeries.push(rssMiB(pid));
}

export function outcome(stats: DoorStats, what: string): void {
  stats.outcomes[what] = (stats.outcomes[what] ?? 0) + 1;
}

export function newStats(door: string): DoorStats {
  return {
    door,
    childProcess: false,
    inputs: 0,
    crashes: 0,
    fiveXx: 0,
    rssStartMiB: 0,
    rssEndMiB: 0,
    findings: [],
    outcomes: {},
    rssSeries: [],
  };
}

/** Resident set size of a process in MiB, from /proc (Linux). */
export function rssMiB(pid: number = process.pid): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

/** Records a finding, keeping the list short (the counters keep the totals). */
export function finding(stats: DoorStats, line: string): void {
  if (stats.findings.length < 20) stats.findings.push(line);
}

export function printTable(
  all: DoorStats[],
  out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
): void {
  const rows = [
    ['door', 'inputs', 'crashes', '5xx', 'RSS start MiB', 'RSS end MiB'],
    ...all.map((s) => [
      s.childProcess ? `${s.door} (child process)` : `${s.door} (in-process)`,
      String(s.inputs),
      String(s.crashes),
      String(s.fiveXx),
      s.rssStartMiB.toFixed(1),
      s.rssEndMiB.toFixed(1),
    ]),
    [
      'total',
      String(all.reduce((n, s) => n + s.inputs, 0)),
      String(all.reduce((n, s) => n + s.crashes, 0)),
      String(all.reduce((n, s) => n + s.fiveXx, 0)),
      '',
      '',
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    out(`| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`);
  for (const s of all) {
    const top = Object.entries(s.outcomes)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, n]) => `${k} ×${n}`);
    if (top.length) out(`  ${s.door}: ${top.join(', ')}`);
    if (s.rssSeries.length > 1)
      out(`  ${s.door}: RSS MiB through the run: ${s.rssSeries.map((m) => m.toFixed(0)).join(' ')}`);
    for (const f of s.findings) out(`  ${s.door}: ${f}`);
  }
}

/**
 * Counts rejections nobody handled and exceptions nobody caught in this process while a door
 * runs in-process: each is a crash the real program would have had (or a bug its guard reports).
 */
export function watchStrayErrors(stats: DoorStats): () => void {
  const onError = (kind: string) => (e: unknown) => {
    stats.crashes++;
    finding(stats, `${kind}: ${(e as Error)?.stack ?? String(e)}`);
  };
  const onRejection = onError('unhandled rejection');
  const onException = onError('uncaught exception');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}

/** After a door against a child: a dead child, or bugs its guard reported, are crashes. */
export function checkChild(
  stats: DoorStats,
  child: { pid: number; alive(): boolean; tail(): string; bugs(): string[] },
  bugsBefore: number,
  what: string,
): void {
  for (const line of child.bugs().slice(bugsBefore)) {
    stats.crashes++;
    finding(stats, `${what}'s process guard caught a bug (a crash without it): ${line}`);
  }
  if (!child.alive()) {
    stats.crashes++;
    finding(stats, `${what} exited: ${child.tail()}`);
  } else stats.rssEndMiB = rssMiB(child.pid);
}
