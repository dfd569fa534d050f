// Throughput runs with the CPU each program spent on them (CPU-seconds per GB moved).
import { CpuMeter } from './cpu.js';
import { spread, showSpread, type Spread } from './stats.js';
import { measureDownload } from './traffic.js';

/** A path to download through: the local port to read from and the programs that carry the bytes. */
export interface MeasuredPath {
  port: number;
  /** Program name → pid of the process (tree) that carries the bytes on this path. */
  programs: Record<string, number | undefined>;
}

export interface PathResult {
  mbps: Spread;
  /** Program → CPU-seconds per GB (10^9 bytes) moved, over the runs. */
  cpuSecondsPerGB: Record<string, Spread>;
  /** The sum over the path's programs (not the bench's own source and sink). */
  totalCpuSecondsPerGB: Spread;
}

/** Downloads `bytes` through `path` `runs` times, measuring MB/s and each program's CPU. */
export async function measurePath(path: MeasuredPath, bytes: number, runs: number): Promise<PathResult> {
  const meter = new CpuMeter({ ...path.programs, bench: process.pid });
  const mbps: number[] = [];
  const perProgram: Record<string, number[]> = {};
  const totals: number[] = [];
  for (let i = 0; i < runs; i++) {
    const reading = meter.start();
    mbps.push(await measureDownload(path.port, bytes));
    const used = reading.stop();
    let total = 0;
    for (const [name, seconds] of Object.entries(used)) {
      const perGB = seconds / (bytes / 1e9);
      (perProgram[name] ??= []).push(perGB);
      if (name !== 'bench') total += perGB;
    }
    totals.push(total);
  }
  return {
    mbps: spread(mbps),
    cpuSecondsPerGB: Object.fromEntries(Object.entries(perProgram).map(([k, v]) => [k, spread(v)])),
    totalCpuSecondsPerGB: spread(totals),
  };
}

/** Single-run results of one path, taken interleaved with other paths, as one result. */
export function mergeRuns(results: PathResult[]): PathResult {
  const all = (pick: (r: PathResult) => Spread | undefined) => results.flatMap((r) => pick(r)?.runs ?? []);
  const programs = new Set(results.flatMap((r) => Object.keys(r.cpuSecondsPerGB)));
  return {
    mbps: spread(all((r) => r.mbps)),
    cpuSecondsPerGB: Object.fromEntries([...programs].map((k) => [k, spread(all((r) => r.cpuSecondsPerGB[k]))])),
    totalCpuSecondsPerGB: spread(all((r) => r.totalCpuSecondsPerGB)),
  };
}

/** "connect 3.1 · relay 2.0 · agent 3.3" (medians), then the bench's own share. */
export function describeCpu(r: PathResult | undefined): string {
  if (!r) return 'n/a';
  const parts = Object.entries(r.cpuSecondsPerGB)
    .filter(([k]) => k !== 'bench')
    .map(([k, s]) => `${k} ${s.median.toFixed(1)}`);
  return `${showSpread(r.totalCpuSecondsPerGB, 1)} = ${parts.join(' + ')}`;
}
