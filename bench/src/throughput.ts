// Throughput runs with the CPU each program spent on them (CPU-seconds per GB moved).
import { CpuMeter } from './cpu.js';
import { PathRuns, type PathResult } from './path-runs.js';
import { spread, showSpread, type Spread } from './stats.js';
import { measureDownload } from './traffic.js';

export type { PathResult } from './path-runs.js';

/** A path to download through: the local port to read from and the programs that carry the bytes. */
export interface MeasuredPath {
  port: number;
  /** Program name → pid of the process (tree) that carries the bytes on this path. */
  programs: Record<string, number | undefined>;
}

/** Downloads `bytes` through `path` `runs` times, measuring MB/s and each program's CPU. */
export async function measurePath(path: MeasuredPath, bytes: number, runs: number): Promise<PathResult> {
  const meter = new CpuMeter({ ...path.programs, bench: process.pid });
  const recorded = new PathRuns();
  for (let i = 0; i < runs; i++) {
    const reading = meter.start();
    const mbps = await measureDownload(path.port, bytes);
    recorded.add(bytes, mbps, reading.stop());
  }
  return recorded.result();
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
