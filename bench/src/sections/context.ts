// What every section of `npm run bench` is given: the running system, the table it adds rows
// to, and the run's settings.
import type { BenchSystem } from '../bench-system.js';
import type { ReportTable } from '../report-table.js';

export interface SectionContext {
  sys: BenchSystem;
  table: ReportTable;
  /** Bytes per loopback transfer (`BENCH_MB`); transfers over the delayed link move half. */
  bytes: number;
  /** Runs per measure (`BENCH_RUNS`). */
  runs: number;
  /** The round trip the delay proxies add between workstation and enclave edge. */
  rttMs: number;
}
