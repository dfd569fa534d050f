// `npm run load`: how many idle sessions one relay holds, and what each costs. Opens N paired
// sessions (default 10 000) through a relay child — a fake agent in a child of its own and
// Connect's side in this process, see load-clients.ts — then measures the relay's memory per session, its CPU while
// they sit idle, its memory after they all closed, and a second run against the first.
// Not part of `npm test`; bounded by LOAD_SESSIONS (and LOAD_RUNS, 2). Linux only (reads /proc).
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enrollAndLogin, loadCredentials } from './bench-user.js';
import { treeCpuSeconds } from './cpu.js';
import { IdleConnect, type LoadRelay } from './load-clients.js';
import { CHUNK_BYTES } from './load-stream.js';
import { longRunningChild, repoRoot, tsxChild } from './processes.js';
import { loadAverage, median } from './stats.js';
import { envNumber } from './settings.js';
import { cleanUpOnSignal, stopAllAndRemove } from './stop-on-signal.js';

const REQUESTED = envNumber('load', { name: 'LOAD_SESSIONS', default: 10_000, min: 1, max: 100_000, integer: true });
const CONCURRENCY = envNumber('load', { name: 'LOAD_CONCURRENCY', default: 16, min: 1, max: 256, integer: true });
const IDLE_SECONDS = envNumber('load', { name: 'LOAD_IDLE_SECONDS', default: 20, min: 0, max: 3600 });
/** Runs against the same relay: the second shows whether the first left it slower or bigger. */
const RUNS = envNumber('load', { name: 'LOAD_RUNS', default: 2, min: 1, max: 10, integer: true });
/**
 * With LOAD_TRANSFER_MB, every session then moves that many MiB from the agent's side to
 * Connect's, each checked chunk by chunk (load-stream.ts): bytes lost, reordered or crossed over
 * from another session are counted. `LOAD_SESSIONS=1000 LOAD_TRANSFER_MB=10 npm run load`.
 */
const TRANSFER_MB = envNumber('load', { name: 'LOAD_TRANSFER_MB', default: 0, min: 0, max: 1000 });
/** Open files the relay needs besides its sessions' two sockets each (store, logs, listeners). */
const RELAY_OTHER_FILES = 200;

/** The relay's limits a load run needs raised, and why (README, Performance). */
const RELAY_CONFIG = {
  // Sessions are opened CONCURRENCY at a time by one user: each is pending until both sides join.
  maxPendingSessionsPerUser: CONCURRENCY * 2,
  // One login carries the whole run.
  accessTokenTtlSeconds: 4 * 3600,
};

/** The open-files limit this process (and so its children) has. */
function openFilesLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return Number(line?.split(/\s+/)[3] ?? 0);
}

/** Resident memory of a process, in bytes (VmRSS). */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Per 1 000 sessions opened, when there were that many (a smaller run has no batch to tell). */
const batchesSaid = (batches: number[]) =>
  batches.length === 0
    ? ''
    : ` (first 1000: ${batches[0]!.toFixed(1)}, last: ${batches.at(-1)!.toFixed(1)}, median batch ${median(batches).toFixed(1)})`;

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

/** Counts the sessions the agent child joined, from its `joined <n>` lines. */
function joinedCounter(child: ChildProcess): () => number {
  let joined = 0;
  let text = '';
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
    const lines = text.split('\n');
    text = lines.pop()!;
    for (const l of lines) if (l.startsWith('joined ')) joined = Number(l.slice(7));
  });
  return () => joined;
}

async function openSessions(
  connect: IdleConnect,
  agentJoined: () => number,
  n: number,
): Promise<{ msPerSession: number; batches: number[]; failures: string[] }> {
  const joinedBefore = agentJoined();
  const started = performance.now();
  const batches: number[] = []; // ms per session, per 1000 sessions
  let opened = 0;
  const failures: string[] = [];
  let batchStart = started;
  const worker = async () => {
    while (opened < n) {
      opened++;
      // A session that could not be opened is counted and reported, not fatal to the run.
      const failed = await connect.open('load-vm').then(
        () => undefined,
        (e: unknown) => (e as Error).message,
      );
      if (failed) {
        failures.push(failed);
        continue;
      }
      if (connect.sockets.size % 1000 === 0) {
        const now = performance.now();
        batches.push((now - batchStart) / 1000);
        batchStart = now;
        process.stderr.write(`  ${connect.sockets.size} sessions open\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  // Paired once the agent joined them all (it reports every hundredth).
  const target = joinedBefore + Math.floor((n - failures.length) / 100) * 100;
  for (let waited = 0; agentJoined() < target; waited += 100) {
    if (waited > 60_000) throw new Error(`the agent joined ${agentJoined()} of ${target} sessions`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { msPerSession: (performance.now() - started) / n, batches, failures };
}

/** What the relay logged at warn or above during the run (a session it dropped says why here). */
const relayWarnings: string[] = [];

/** The relay's own account of its memory (relay-process.ts answers SIGUSR2 on stderr). */
function memoryOf(child: ChildProcess): () => Promise<NodeJS.MemoryUsage> {
  let waiting: ((m: NodeJS.MemoryUsage) => void) | undefined;
  let text = '';
  child.stderr!.on('data', (d: Buffer) => {
    text += d.toString();
    let nl;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (line.startsWith('memory ')) waiting?.(JSON.parse(line.slice(7)) as NodeJS.MemoryUsage);
      else if (line.startsWith('{')) relayWarnings.push(line);
    }
  });
  return () =>
    new Promise((resolve) => {
      waiting = resolve;
      child.kill('SIGUSR2');
    });
}

const breakdown = (m: NodeJS.MemoryUsage) =>
  `heap ${mib(m.heapUsed)}/${mib(m.heapTotal)}, buffers ${mib(m.arrayBuffers)}, external ${mib(m.external)}, rss ${mib(m.rss)}`;

async function idleCpu(pid: number, seconds: number): Promise<number> {
  const t0 = treeCpuSeconds(pid) ?? 0;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return ((treeCpuSeconds(pid) ?? 0) - t0) / seconds;
}

/** Every session moves TRANSFER_MB through the relay at once; what arrived, checked, and what it cost the relay. */
async function transfer(connect: IdleConnect, pid: number, sessions: number): Promise<Record<string, number | string>> {
  const chunks = Math.round((TRANSFER_MB * 2 ** 20) / CHUNK_BYTES);
  const cpu0 = treeCpuSeconds(pid) ?? 0;
  let peakRss = rssBytes(pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssBytes(pid))), 250);
  const t0 = performance.now();
  const r = await connect.transfer(chunks, 30 * 60_000);
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const cpu = (treeCpuSeconds(pid) ?? 0) - cpu0;
  const expected = chunks * CHUNK_BYTES * sessions;
  console.log(
    `  transfer: ${sessions} sessions × ${TRANSFER_MB} MiB in ${seconds.toFixed(1)} s (${mib(r.bytes / seconds)}/s through the relay); ` +
      `${expected - r.bytes} bytes missing, ${r.problems.length} sessions with wrong bytes (cross-talk, loss or reordering), ${r.incomplete} incomplete; ` +
      `relay CPU ${cpu.toFixed(1)} s (${(cpu / (r.bytes / 2 ** 30) || 0).toFixed(1)} s per GiB), peak RSS ${mib(peakRss)}`,
  );
  if (r.problems.length) console.log(`  e.g.: ${r.problems[0]}`);
  return {
    transferMiBPerSession: TRANSFER_MB,
    transferSeconds: seconds,
    transferBytes: r.bytes,
    transferMissingBytes: expected - r.bytes,
    transferWrongSessions: r.problems.length,
    transferIncomplete: r.incomplete,
    transferRelayCpuSeconds: cpu,
    transferPeakRss: peakRss,
  };
}

async function main(): Promise<void> {
  // Each session is two sockets in the relay: one process's open-files limit bounds the run.
  const limit = openFilesLimit();
  const SESSIONS = Math.min(REQUESTED, Math.floor((limit - RELAY_OTHER_FILES) / 2 / 100) * 100);
  if (SESSIONS < REQUESTED)
    console.log(
      `note: the open-files limit here is ${limit} (ulimit -n), so one relay can hold ${SESSIONS} sessions, not ${REQUESTED}; raise LimitNOFILE for a real relay`,
    );
  const tmp = mkdtempSync(join(tmpdir(), 'airlock-load-'));
  const stops: Array<() => void | Promise<void>> = [];
  cleanUpOnSignal('load', () => stopAllAndRemove(stops, tmp));
  try {
    const relay = await longRunningChild<LoadRelay & { url: string; userCode: string }>(
      'bench/src/relay-process.ts',
      [join(tmp, 'relay'), 'load-vm', 'load', '9'],
      { BENCH_RELAY_CONFIG: JSON.stringify(RELAY_CONFIG), BENCH_AGENT_CREDENTIAL: '1' },
    );
    stops.push(relay.stop);
    const pid = relay.child.pid!;
    const relayMemory = memoryOf(relay.child);
    const home = join(tmp, 'connect');
    await enrollAndLogin(relay.info.url, relay.info.userCode, 'load', home);
    const agent = await tsxChild<{ ready: boolean }>('bench/src/load-agent-process.ts', [JSON.stringify(relay.info)]);
    stops.push(agent.stop);
    const agentJoined = joinedCounter(agent.child);
    const credentials = await loadCredentials(home);

    console.log(
      `Airlock load — ${SESSIONS} idle sessions, ${CONCURRENCY} opened at a time; load average ${await loadAverage()}`,
    );
    const baseRss = rssBytes(pid);
    const baseIdle = await idleCpu(pid, 5);
    const runs: Array<Record<string, number | string>> = [];
    for (let run = 1; run <= RUNS; run++) {
      const connect = new IdleConnect(relay.info, credentials);
      const before = rssBytes(pid);
      const opened = await openSessions(connect, agentJoined, SESSIONS);
      const rss = rssBytes(pid);
      console.log(`  relay memory with ${SESSIONS} sessions: ${breakdown(await relayMemory())}`);
      const idle = await idleCpu(pid, IDLE_SECONDS);
      const moved = TRANSFER_MB > 0 ? await transfer(connect, pid, SESSIONS) : undefined;
      await connect.closeAll();
      await connect.close();
      // Give the relay a moment to finish its bookkeeping, then look at what stayed.
      await new Promise((r) => setTimeout(r, 5000));
      const after = rssBytes(pid);
      console.log(`  relay memory after they closed: ${breakdown(await relayMemory())}`);
      runs.push({
        run,
        failures: opened.failures.length,
        msPerSession: opened.msPerSession,
        firstThousandMsPerSession: opened.batches[0] ?? NaN,
        lastThousandMsPerSession: opened.batches.at(-1) ?? NaN,
        rssBefore: before,
        rssWithSessions: rss,
        rssPerSession: (rss - baseRss) / SESSIONS,
        idleCpuCores: idle,
        rssAfterClose: after,
        ...(moved ?? {}),
      });
      if (opened.failures.length)
        console.log(`  ${opened.failures.length} sessions failed to open, e.g.: ${opened.failures[0]}`);
      console.log(
        `run ${run}: ${opened.msPerSession.toFixed(1)} ms per session${batchesSaid(opened.batches)}; ` +
          `relay RSS ${mib(before)} → ${mib(rss)} with ${SESSIONS} sessions (${kib((rss - baseRss) / SESSIONS)} each above the idle relay), ` +
          `idle CPU ${(idle * 100).toFixed(1)} % of a core (${(baseIdle * 100).toFixed(1)} % with none), ${mib(after)} after they closed`,
      );
    }
    console.log(`load average ${await loadAverage()}`);
    const kinds = new Map<string, number>();
    for (const w of relayWarnings) {
      const msg = (JSON.parse(w) as { msg?: string }).msg ?? w;
      kinds.set(msg, (kinds.get(msg) ?? 0) + 1);
    }
    for (const [msg, n] of kinds) console.log(`  relay warned ${n}×: ${msg}`);
    const outDir = join(repoRoot, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `load-${new Date().toISOString().slice(0, 10)}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        { date: new Date().toISOString(), sessions: SESSIONS, concurrency: CONCURRENCY, baseRss, baseIdle, runs },
        null,
        2,
      ) + '\n',
    );
    console.log(`written to ${file}`);
  } finally {
    await stopAllAndRemove(stops, tmp);
  }
}

await main();
// No code: a signal being handled has set the exit status (stop-on-signal.ts).
process.exit();
