// `npm run soak`: sessions that are dropped and resumed every minute, for half an hour, must not
// grow. A relay child, a real agent process and SOAK_SESSIONS `airlock forward` processes (one
// session each), every one downloading a checked stream (load-stream.ts) without end through its
// forward. Every SOAK_CUT_SECONDS (60) a proxy in front of the relay resets every connection
// through it, Connect's and the agent's: each session resumes. Each download runs at
// SOAK_RATE_KIB (1024 KiB/s), so the run measures memory across resumes, not CPU. The resident memory of every
// process is sampled; the report compares the first and the last fifth of the run.
// Bounded by SOAK_MINUTES (30). Not part of `npm test`. Linux only (reads /proc).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CutProxy } from '@airlock/shared/testing';
import { enrollAndLogin, homeVia } from './bench-user.js';
import { CHUNK_BYTES, chunk, sessionBlock, StreamCheck } from './load-stream.js';
import { airlockBin, longRunningChild, repoRoot, startJsonChild, type Child } from './processes.js';
import { loadAverage } from './stats.js';
import { envNumber } from './settings.js';
import { cleanUpOnSignal, stopAllAndRemove } from './stop-on-signal.js';

const MINUTES = envNumber('soak', { name: 'SOAK_MINUTES', default: 30, min: 0.1, max: 240 });
const SESSIONS = envNumber('soak', { name: 'SOAK_SESSIONS', default: 8, min: 1, max: 100, integer: true });
const CUT_SECONDS = envNumber('soak', { name: 'SOAK_CUT_SECONDS', default: 60, min: 1, max: 3600 });
/** Each session's download rate: steady traffic across every cut, without taking the machine's CPU. */
const RATE_KIB = envNumber('soak', { name: 'SOAK_RATE_KIB', default: 1024, min: 1, max: 1_048_576 });
const SAMPLE_SECONDS = 10;

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** A service in the VM: each connection names its stream (one line), then gets it without end. */
async function streamService(): Promise<{ port: number; close: () => void }> {
  const server = createServer((s: Socket) => {
    s.on('error', () => {});
    s.once('data', (first: Buffer) => {
      const block = sessionBlock(first.toString().trim());
      let n = 0;
      // One chunk per tick at RATE_KIB; a tick is skipped while the socket is still full.
      const timer = setInterval(
        () => {
          if (s.destroyed) return clearInterval(timer);
          if (s.writableLength < CHUNK_BYTES * 4) s.write(chunk(block, n++));
        },
        Math.max(1, Math.round((CHUNK_BYTES / 1024 / RATE_KIB) * 1000)),
      );
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}

/** A reader through a forward, checking its stream; reconnects (a new stream) if it is cut. */
function reader(localPort: number, id: string): { check: () => StreamCheck; streams: () => number; stop: () => void } {
  let check = new StreamCheck(sessionBlock(id));
  let streams = 0;
  let stopped = false;
  let sock: Socket | undefined;
  const open = (): void => {
    if (stopped) return;
    streams++;
    const s = connect({ host: '127.0.0.1', port: localPort });
    sock = s;
    const mine = new StreamCheck(sessionBlock(id));
    check = mine;
    s.write(`${id}\n`);
    s.on('data', (d: Buffer) => mine.push(d));
    s.on('error', () => {});
    s.on('close', () => setTimeout(open, 1000));
  };
  open();
  return { check: () => check, streams: () => streams, stop: () => ((stopped = true), sock?.destroy()) };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'airlock-soak-'));
  const stops: Array<() => void | Promise<void>> = [];
  cleanUpOnSignal('soak', () => stopAllAndRemove(stops, tmp, 500));
  try {
    const service = await streamService();
    stops.push(service.close);
    const relay = await longRunningChild<{ url: string; agentToken: string; userCode: string }>(
      'bench/src/relay-process.ts',
      [join(tmp, 'relay'), 'soak-vm', 'soak', String(service.port)],
    );
    stops.push(relay.stop);
    const relayPort = Number(new URL(relay.info.url).port);
    const agentPath = await CutProxy.start(relayPort);
    const connectPath = await CutProxy.start(relayPort);
    stops.push(
      () => void agentPath.close(),
      () => void connectPath.close(),
    );
    const agentCfg = join(tmp, 'agent.json');
    writeFileSync(
      agentCfg,
      JSON.stringify({
        relayUrl: `https://127.0.0.1:${agentPath.port}`,
        stateDir: join(tmp, 'agent-state'),
        enrollmentToken: relay.info.agentToken,
        policy: { allowedPorts: [service.port] },
        logLevel: 'warn',
      }),
      { mode: 0o600 },
    );
    const agent = await longRunningChild('apps/agent/src/main.ts', ['--config', agentCfg], {
      AIRLOCK_LOG_LEVEL: 'info',
    });
    stops.push(agent.stop);
    const home = join(tmp, 'connect');
    await enrollAndLogin(relay.info.url, relay.info.userCode, 'soak', home);
    const viaProxy = join(tmp, 'connect-via-proxy');
    homeVia(home, viaProxy, `https://127.0.0.1:${connectPath.port}`);

    const forwards: Array<Child<{ localPort: number }> & { stderr: () => string }> = [];
    for (let i = 0; i < SESSIONS; i++) {
      const f = await startForward(viaProxy, service.port);
      stops.push(f.stop);
      forwards.push(f);
    }
    const readers = forwards.map((f, i) => reader(f.info.localPort, `soak-${i}`));
    stops.push(() => readers.forEach((r) => r.stop()));

    const pids: Record<string, number> = {
      relay: relay.child.pid!,
      agent: agent.child.pid!,
      ...Object.fromEntries(forwards.map((f, i) => [`forward-${i}`, f.child.pid!])),
    };
    console.log(
      `Airlock soak — ${SESSIONS} sessions downloading at ${RATE_KIB} KiB/s each through the relay for ${MINUTES} min, every connection reset every ${CUT_SECONDS} s; load average ${await loadAverage()}`,
    );
    const samples: Array<{ t: number; rss: Record<string, number>; bytes: number }> = [];
    const bytesNow = () => readers.reduce((n, r) => n + r.check().bytes, 0);
    let moved = 0;
    let lastBytes = 0;
    const started = Date.now();
    let cuts = 0;
    const end = started + MINUTES * 60_000;
    let nextCut = started + CUT_SECONDS * 1000;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, SAMPLE_SECONDS * 1000));
      const b = bytesNow();
      moved += Math.max(0, b - lastBytes);
      lastBytes = b;
      samples.push({ t: (Date.now() - started) / 1000, rss: mapValues(pids, rssBytes), bytes: moved });
      if (Date.now() >= nextCut) {
        connectPath.cut();
        agentPath.cut();
        cuts++;
        nextCut += CUT_SECONDS * 1000;
      }
    }
    const resumes = forwards.reduce((n, f) => n + (f.stderr().match(/resumed after/g)?.length ?? 0), 0);
    const lost = forwards.reduce((n, f) => n + (f.stderr().match(/could not resume/g)?.length ?? 0), 0);
    const problems = readers.flatMap((r) => (r.check().problem ? [r.check().problem!] : []));
    const restarts = readers.reduce((n, r) => n + r.streams() - 1, 0);
    const fifth = Math.max(1, Math.floor(samples.length / 5));
    const avg = (xs: typeof samples, k: string) => xs.reduce((n, s) => n + (s.rss[k] ?? 0), 0) / xs.length;
    console.log(
      `${cuts} cuts; ${resumes} resumes, ${lost} sessions lost, ${restarts} downloads restarted, ${problems.length} streams with wrong bytes; ${mib(moved)} moved (${CHUNK_BYTES / 1024} KiB chunks, each checked)`,
    );
    if (problems.length) console.log(`  e.g.: ${problems[0]}`);
    const report: Record<string, { first: number; last: number }> = {};
    for (const k of Object.keys(pids)) {
      const first = avg(samples.slice(0, fifth), k);
      const last = avg(samples.slice(-fifth), k);
      report[k] = { first, last };
      console.log(
        `  ${k.padEnd(10)} RSS ${mib(first)} in the first fifth, ${mib(last)} in the last (${signed(last - first)})`,
      );
    }
    console.log(`load average ${await loadAverage()}`);
    const file = join(repoRoot, 'bench', 'results', `soak-${new Date().toISOString().slice(0, 10)}.json`);
    writeFileSync(
      file,
      JSON.stringify(
        {
          date: new Date().toISOString(),
          minutes: MINUTES,
          sessions: SESSIONS,
          cuts,
          resumes,
          lost,
          restarts,
          problems,
          moved,
          report,
          samples,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`written to ${file}`);
  } finally {
    await stopAllAndRemove(stops, tmp, 500);
  }
}

function signed(b: number): string {
  return `${b >= 0 ? '+' : '−'}${mib(Math.abs(b))}`;
}

function mapValues(o: Record<string, number>, f: (v: number) => number): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

async function startForward(
  home: string,
  port: number,
): Promise<Child<{ localPort: number }> & { stderr: () => string }> {
  const f = await startJsonChild<{ localPort: number }>(airlockBin, ['forward', 'soak-vm', `${port}:0`, '--json'], {
    AIRLOCK_HOME: home,
  });
  let err = '';
  (f.child as ChildProcess).stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { ...f, stderr: () => err };
}

await main();
// No code: a signal being handled has set the exit status (stop-on-signal.ts).
process.exit();
