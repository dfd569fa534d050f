// `npm run bench`: throughput, setup time and echo latency, side by side in one run.
// Prints a table and writes bench/results/bench-<date>.json. Not part of `npm test`.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { bundlePrograms } from '../../scripts/tasks/bundle.js';
import { startBenchSystem } from './bench-system.js';
import { repoRoot } from './processes.js';
import { ReportTable } from './report-table.js';
import type { SectionContext } from './sections/context.js';
import { measureDesktopSection } from './sections/desktop.js';
import { measureDelayedForwards, measureLoopbackForwards, reportForwards } from './sections/forwards.js';
import { measureEchoSection, measureSetupSection, measureTlsSection } from './sections/sessions.js';
import { measurePipeSection, measureSftpSection } from './sections/transfers.js';
import { measureCommandsSection } from './sections/whole-commands.js';
import { envNumber, fileSetting, listSetting, orExit } from './settings.js';
import { loadAverage } from './stats.js';
import { cleanUpOnSignal, stopAllAndRemove } from './stop-on-signal.js';

const MB = envNumber('bench', { name: 'BENCH_MB', default: 200, min: 1, max: 10_000, integer: true });
const RUNS = envNumber('bench', { name: 'BENCH_RUNS', default: 3, min: 1, max: 20, integer: true });
/** Keystrokes typed between the echo section's cold and warm measurements (0: no warm one). */
const ECHO_WARMUP = envNumber('bench', {
  name: 'BENCH_ECHO_WARMUP',
  default: 2000,
  min: 0,
  max: 20_000,
  integer: true,
});
const RTT_MS = 40;
/** `BENCH_ONLY=throughput,echo` runs only those sections. */
const SECTIONS = orExit(
  'bench',
  listSetting('BENCH_ONLY', process.env.BENCH_ONLY, [
    'throughput',
    'rtt',
    'sftp',
    'pipe',
    'setup',
    'tls',
    'echo',
    'commands',
  ]),
);
const section = (name: string) => SECTIONS.has(name);
/** An older CLI bundle (`.tools/dist/airlock.mjs` copied aside with its chunks: the build empties .tools/dist/airlock-chunks), timed beside this build's. */
const BASELINE = orExit('bench', fileSetting('BENCH_AIRLOCK_BASELINE', process.env.BENCH_AIRLOCK_BASELINE));
const stops: Array<() => void | Promise<void>> = [];
const tmp = mkdtempSync(join(tmpdir(), 'airlock-bench-'));

async function main(): Promise<void> {
  // The CLI is measured as users run it: from the fresh bundle, not through tsx.
  await bundlePrograms();
  const loadAtStart = await loadAverage();
  const sys = await startBenchSystem(tmp, stops);
  const table = new ReportTable();
  const ctx: SectionContext = { sys, table, bytes: MB * 1_000_000, runs: RUNS, rttMs: RTT_MS };
  const results: Record<string, unknown> = {};

  const loopback = section('throughput') ? await measureLoopbackForwards(ctx) : {};
  const far = section('rtt') ? await measureDelayedForwards(ctx) : {};
  Object.assign(results, reportForwards(ctx, loopback, far));
  if (section('sftp') && sys.sshd) results.sftp = await measureSftpSection(ctx, sys.sshd);
  if (section('pipe') && sys.sshd) results.pipe = await measurePipeSection(ctx, sys.sshd);
  if (section('setup')) Object.assign(results, await measureSetupSection(ctx));
  if (section('tls')) results.tlsHandshakes = await measureTlsSection(ctx);
  if (section('echo')) results.echoMs = await measureEchoSection(ctx, ECHO_WARMUP);
  // Whole commands last (on loopback they are timed with spawnSync, which blocks this process).
  if (section('commands')) results.commandsMs = await measureCommandsSection(ctx, BASELINE);
  Object.assign(results, await measureDesktopSection(ctx));

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
  const date = new Date().toISOString();
  const loadAtEnd = await loadAverage();
  Object.assign(results, {
    machine,
    date,
    transferMB: { loopback: MB, rtt40: MB / 2 },
    runs: RUNS,
    loadAverage: { start: loadAtStart, end: loadAtEnd },
  });
  console.log(`\nAirlock bench — ${date} — ${machine}`);
  console.log(
    `${MB} MB per loopback run, ${RUNS} runs (median (min–max)); CPU from /proc/<pid>/stat utime+stime of each program's process tree; load average ${loadAtStart} at start, ${loadAtEnd} at end`,
  );
  table.print(RTT_MS);
  const outDir = join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-${date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwritten to ${file}`);
}

const cleanUp = () => stopAllAndRemove(stops, tmp);
cleanUpOnSignal('bench', cleanUp);
try {
  await main();
} finally {
  await cleanUp();
}
// No code: a signal being handled has set the exit status (stop-on-signal.ts).
process.exit();
