// What a transfer path's runs add up to: MB/s and each program's CPU per GB, as spreads.
import { spread, type Spread } from './stats.js';

export interface PathResult {
  mbps: Spread;
  /** Program → CPU-seconds per GB (10^9 bytes) moved, over the runs. */
  cpuSecondsPerGB: Record<string, Spread>;
  /** The sum over the path's programs (not the bench's own source and sink, `bench`). */
  totalCpuSecondsPerGB: Spread;
}

/** Collects a path's runs one at a time; `result()` gives their spreads. */
export class PathRuns {
  private readonly mbps: number[] = [];
  private readonly totals: number[] = [];
  private readonly perProgram: Record<string, number[]> = {};

  /** One run: `bytes` moved at `mbps`, and the CPU-seconds each program spent on it. */
  add(bytes: number, mbps: number, cpuSeconds: Record<string, number>): void {
    this.mbps.push(mbps);
    let total = 0;
    for (const [name, seconds] of Object.entries(cpuSeconds)) {
      const perGB = seconds / (bytes / 1e9);
      (this.perProgram[name] ??= []).push(perGB);
      if (name !== 'bench') total += perGB;
    }
    this.totals.push(total);
  }

  result(): PathResult {
    return {
      mbps: spread(this.mbps),
      cpuSecondsPerGB: Object.fromEntries(Object.entries(this.perProgram).map(([k, v]) => [k, spread(v)])),
      totalCpuSecondsPerGB: spread(this.totals),
    };
  }
}
