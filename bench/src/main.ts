// `npm run bench`: throughput, setup time and echo latency, side by side in one run.
// Prints a table and writes bench/results/bench-<date>.json. Not part of `npm test`.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { openVmSession, sessionUserKey, type SessionStep } from '@airlock/connect';
import { bundlePrograms, rendererGzippedBytes } from '../../scripts/tasks/bundle.js';
import { measureCommands } from './commands.js';
import { measureApp } from './app-bench.js';
import { startAppForward } from './app-forward.js';
import { enrollAndLogin, homeVia, loadCredentials } from './bench-user.js';
import { startDelayProxy } from './delay-proxy.js';
import { measureCliEcho, measureOpensshEcho, measureSessionEcho, type EchoLatency } from './echo.js';
import { startPrivateSshd, startSshForward, type PrivateSshd } from './openssh.js';
import { airlockBin, longRunningChild, repoRoot, startJsonChild, type Child } from './processes.js';
import { startSourceService } from './traffic.js';
import { connectDirect, type DirectAgentInfo } from './direct-session.js';
import { loadAverage, median, showSpread } from './stats.js';
import { measureTlsHandshakes, type HandshakeCost } from './tls-handshakes.js';
import { describeCpu, measurePath, mergeRuns, type MeasuredPath, type PathResult } from './throughput.js';
import { makeFile, measureSftp, wrapTransport } from './sftp.js';
import { measureExecPipe } from './exec-pipe.js';
import { envNumber, fileSetting, listSetting, orExit } from './settings.js';
import { cleanUpOnSignal, stopAllAndRemove } from './stop-on-signal.js';

const MB = envNumber('bench', { name: 'BENCH_MB', default: 200, min: 1, max: 10_000, integer: true });
const BYTES = MB * 1_000_000;
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
/** Sessions opened one after another on the same relay and agent in the echo section. */
const NEXT_SESSIONS = 5;
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
const results: Record<string, unknown> = {};
const stops: Array<() => void | Promise<void>> = [];
const tmp = mkdtempSync(join(tmpdir(), 'airlock-bench-'));

/** For commands whose traffic passes through this process (the delay proxies): never block the loop. */
function cliAsync(home: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(airlockBin, args, { env: { ...process.env, AIRLOCK_HOME: home } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`airlock ${args.join(' ')}: ${err}`))));
  });
}

/** What relay-process.ts prints. */
interface RelayInfo {
  url: string;
  wsUrl: string;
  pin: string;
  publicKeyPem: string;
  agentToken: string;
  userCode: string;
}

async function main(): Promise<void> {
  // The CLI is measured as users run it: from the fresh bundle, not through tsx.
  await bundlePrograms();
  const loadAtStart = await loadAverage();
  const source = await startSourceService();
  stops.push(() => void source.server.close());
  const ports = [source.port];

  // --- the system: relay child (VM, user and grant made by its admin service), the agent child
  // enrolled with its one-time token, the user enrolled and logged in here with Connect's core ----
  const dataDir = join(tmp, 'relay');
  const home = join(tmp, 'connect');
  const relay = await longRunningChild<RelayInfo>('bench/src/relay-process.ts', [
    dataDir,
    'bench-vm',
    'bench',
    ports.join(','),
  ]);
  stops.push(relay.stop);
  const agentCfg = join(tmp, 'agent.json');
  writeFileSync(
    agentCfg,
    JSON.stringify({
      relayUrl: relay.info.url,
      stateDir: join(tmp, 'agent-state'),
      enrollmentToken: relay.info.agentToken,
      policy: { allowedPorts: ports },
      shell: '/bin/sh',
      logLevel: 'warn',
    }),
    { mode: 0o600 },
  );
  const agentChild = await startAgentChild(agentCfg);
  stops.push(agentChild.stop);
  await enrollAndLogin(relay.info.url, relay.info.userCode, 'bench', home);
  for (let i = 0; ; i++) {
    const vms = JSON.parse(await cliAsync(home, ['vms', '--json'])) as
      { vms?: Array<{ online: boolean }> } | Array<{ online: boolean }>;
    const list = Array.isArray(vms) ? vms : (vms.vms ?? []);
    if (list.some((v) => v.online)) break;
    if (i > 100) throw new Error('the bench agent never came online');
    await new Promise((r) => setTimeout(r, 100));
  }

  // --- the paths to compare ---------------------------------------------------------------
  const credentials = await loadCredentials(home);
  const viaRelay = async (homeDir: string) => {
    const f = await startJsonChild<{ localPort: number }>(
      airlockBin,
      ['forward', 'bench-vm', `${source.port}:0`, '--json'],
      {
        AIRLOCK_HOME: homeDir,
      },
    );
    stops.push(f.stop);
    return f;
  };
  // The direct agent accepts what the relay's tickets name: the login certificate's key.
  const direct = await longRunningChild<DirectAgentInfo>('bench/src/direct-agent-process.ts', [
    sessionUserKey(credentials).fingerprint,
    String(source.port),
  ]);
  stops.push(direct.stop);
  const directForward = (url: string) =>
    // It stands in for `airlock forward`, so it starts with the same flags.
    longRunningChild<{ localPort: number }>('bench/src/connect-forward-process.ts', [
      url,
      direct.info.pin,
      direct.info.hostKey,
      home,
      String(source.port),
    ]);
  const sshd = await startPrivateSshd();
  const haveSshd = !('unavailable' in sshd);
  if (haveSshd) stops.push((sshd as PrivateSshd).stop);

  const table: Array<[string, string, string]> = [];
  const row = (name: string, a: number | string, b: number | string) =>
    table.push([name, typeof a === 'number' ? a.toFixed(0) : a, typeof b === 'number' ? b.toFixed(0) : b]);
  const loopback: Record<string, PathResult> = {};
  const rtt40: Record<string, PathResult> = {};
  const agentPid = agentChild.child.pid;
  const relayPid = relay.child.pid;

  if (section('throughput')) {
    const fRelay = await viaRelay(home);
    const fDirect = await directForward(direct.info.url);
    stops.push(fDirect.stop);
    const paths: Record<string, MeasuredPath> = {
      viaRelay: {
        port: fRelay.info.localPort,
        programs: { connect: fRelay.child.pid, relay: relayPid, agent: agentPid },
      },
      withoutRelay: {
        port: fDirect.info.localPort,
        programs: { connect: fDirect.child.pid, agent: direct.child.pid },
      },
      rawTcp: { port: source.port, programs: {} },
    };
    const fApp = await startAppForward(home, 'bench-vm', source.port);
    stops.push(fApp.stop);
    paths.viaApp = { port: fApp.port, programs: { ui: fApp.pid, relay: relayPid, agent: agentPid } };
    if (haveSshd) {
      const s = await startSshForward(sshd as PrivateSshd, source.port);
      stops.push(s.stop);
      paths.opensshL = { port: s.port, programs: { ssh: s.pid, sshd: (sshd as PrivateSshd).pid } };
    }
    // Interleaved runs, so a burst of load from elsewhere on the machine hits every path alike.
    const runs: Record<string, PathResult[]> = {};
    for (let i = 0; i < RUNS; i++)
      for (const [name, path] of Object.entries(paths)) (runs[name] ??= []).push(await measurePath(path, BYTES, 1));
    for (const [name, rs] of Object.entries(runs)) loopback[name] = mergeRuns(rs);
  }

  if (section('rtt')) {
    // 40 ms round trip between the workstation and the enclave edge
    const oneWay = RTT_MS / 2;
    const relayProxy = await startDelayProxy(Number(new URL(relay.info.url).port), oneWay);
    // Same login, other address: the token is bound to the client certificate, not to the URL.
    const home40 = join(tmp, 'connect-40');
    homeVia(home, home40, `https://127.0.0.1:${relayProxy.port}`);
    const fRelay40 = await viaRelay(home40);
    const directProxy = await startDelayProxy(Number(new URL(direct.info.url).port), oneWay);
    const fDirect40 = await directForward(`https://127.0.0.1:${directProxy.port}`);
    stops.push(fDirect40.stop);
    const paths: Record<string, MeasuredPath> = {
      viaRelay: { port: fRelay40.info.localPort, programs: {} },
      withoutRelay: { port: fDirect40.info.localPort, programs: {} },
    };
    if (haveSshd) {
      const sshProxy = await startDelayProxy((sshd as PrivateSshd).port, oneWay);
      const s40 = await startSshForward(sshd as PrivateSshd, source.port, ['-p', String(sshProxy.port)]);
      stops.push(s40.stop);
      paths.opensshL = { port: s40.port, programs: {} };
    }
    paths.rawTcp = { port: (await startDelayProxy(source.port, oneWay)).port, programs: {} };
    for (const [name, path] of Object.entries(paths)) rtt40[name] = await measurePath(path, BYTES / 2, 2);
  }
  results.throughputMBps = Object.fromEntries(
    ['viaRelay', 'viaApp', 'withoutRelay', 'opensshL', 'rawTcp'].map((k) => [
      k,
      { loopback: loopback[k]?.mbps ?? null, rtt40: rtt40[k]?.mbps ?? null },
    ]),
  );
  results.cpuSecondsPerGB = Object.fromEntries(
    Object.entries(loopback).map(([k, r]) => [k, { total: r.totalCpuSecondsPerGB, ...r.cpuSecondsPerGB }]),
  );
  for (const [k, label] of [
    ['viaRelay', 'forward via relay (airlock forward)'],
    ['viaApp', "the same forward made in the app (airlock ui's service)"],
    ['withoutRelay', 'same SSH path without the relay'],
    ['opensshL', 'OpenSSH ssh -L'],
    ['rawTcp', 'raw TCP'],
  ] as const)
    if (loopback[k] || rtt40[k]) row(label + ' MB/s', showSpread(loopback[k]?.mbps), showSpread(rtt40[k]?.mbps));
  for (const [k, label] of [
    ['viaRelay', 'CPU-s/GB via relay'],
    ['viaApp', 'CPU-s/GB via relay, forward made in the app'],
    ['withoutRelay', 'CPU-s/GB without the relay'],
    ['opensshL', 'CPU-s/GB OpenSSH ssh -L'],
  ] as const)
    if (loopback[k]) row(`${label}: ${describeCpu(loopback[k])}`, '', '');
  if (loopback.viaRelay && loopback.withoutRelay)
    row(
      'relay overhead: via relay ÷ without (MB/s medians)',
      (loopback.viaRelay.mbps.median / loopback.withoutRelay.mbps.median).toFixed(2),
      rtt40.viaRelay && rtt40.withoutRelay
        ? (rtt40.viaRelay.mbps.median / rtt40.withoutRelay.mbps.median).toFixed(2)
        : '',
    );
  if (loopback.viaRelay && loopback.opensshL)
    row(
      'via relay ÷ ssh -L (MB/s medians)',
      (loopback.viaRelay.mbps.median / loopback.opensshL.mbps.median).toFixed(2),
      '',
    );

  // --- SFTP: OpenSSH's sftp client through airlock sftp-stdio, and straight to sshd -------------
  if (section('sftp') && haveSshd) {
    const file = join(tmp, 'sftp-source');
    const bytes = BYTES;
    makeFile(file, bytes);
    const sftp: Record<string, PathResult> = {};
    const paths = {
      airlock: {
        transport: wrapTransport(tmp, 'sftp-stdio', '-D', [airlockBin, 'sftp-stdio', 'bench-vm']),
        args: [],
        programs: { relay: relay.child.pid, agent: agentChild.child.pid },
      },
      openssh: {
        transport: wrapTransport(tmp, 'ssh', '-S', ['ssh']),
        args: (sshd as PrivateSshd).sftpArgs,
        programs: { sshd: (sshd as PrivateSshd).pid },
      },
    };
    process.env.AIRLOCK_HOME = home; // the -D program inherits it through sftp
    for (const direction of ['get', 'put'] as const)
      for (const [name, p] of Object.entries(paths))
        sftp[`${name}-${direction}`] = await measureSftp({ ...p, direction, file, dir: tmp, bytes, runs: RUNS });
    delete process.env.AIRLOCK_HOME;
    rmSync(file);
    results.sftp = sftp;
    for (const direction of ['get', 'put'] as const) {
      const a = sftp[`airlock-${direction}`]!;
      const o = sftp[`openssh-${direction}`]!;
      const what = direction === 'get' ? 'download' : 'upload';
      row(`SFTP ${what} via relay (sftp -D "airlock sftp-stdio") MB/s`, showSpread(a.mbps), '');
      row(`SFTP ${what} OpenSSH sftp → sshd MB/s`, showSpread(o.mbps), '');
      row(`SFTP ${what}: airlock ÷ OpenSSH (MB/s medians)`, (a.mbps.median / o.mbps.median).toFixed(2), '');
      row(`SFTP ${what} CPU-s/GB: airlock ${describeCpu(a)}; OpenSSH ${describeCpu(o)}`, '', '');
    }
  }

  // --- a remote command's output into a local pipe: exec and ssh ----------------------------------
  if (section('pipe') && haveSshd) {
    const file = join(tmp, 'pipe-source');
    makeFile(file, BYTES);
    process.env.AIRLOCK_HOME = home;
    const pipe = await measureExecPipe(
      {
        airlock: {
          command: [airlockBin, 'exec', 'bench-vm', '--'],
          programs: { relay: relay.child.pid, agent: agentChild.child.pid },
        },
        openssh: { command: ['ssh', ...(sshd as PrivateSshd).sshArgs], programs: { sshd: (sshd as PrivateSshd).pid } },
      },
      { file, bytes: BYTES, runs: RUNS },
    );
    delete process.env.AIRLOCK_HOME;
    rmSync(file);
    results.pipe = pipe;
    const a = pipe.airlock!;
    const o = pipe.openssh!;
    row('`airlock exec vm -- cat file | wc -c` MB/s', showSpread(a.mbps), '');
    row('`ssh host cat file | wc -c` MB/s', showSpread(o.mbps), '');
    row('exec into a pipe: airlock ÷ ssh (MB/s medians)', (a.mbps.median / o.mbps.median).toFixed(2), '');
    row(`exec into a pipe CPU-s/GB: airlock ${describeCpu(a)}; OpenSSH ${describeCpu(o)}`, '', '');
  }

  // --- setup time: ticket → first byte, and whole commands -----------------------------------
  const newSession = async (onStep?: (step: SessionStep) => void) => {
    const r = await openVmSession({ credentials, vm: 'bench-vm', ...(onStep ? { onStep } : {}) });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  if (section('setup')) {
    const setup: number[] = [];
    const steps = new Map<string, number[]>();
    const at = (step: string, ms: number) => steps.set(step, [...(steps.get(step) ?? []), ms]);
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      const s = await newSession((step) => at(step, performance.now() - t0));
      const ex = await s.exec('true');
      if (!ex.ok) throw new Error(ex.error.message);
      at('exec channel open', performance.now() - t0);
      await ex.value.exit;
      setup.push(performance.now() - t0);
      await s.close();
    }
    const stepMedians = Object.fromEntries([...steps].map(([k, v]) => [k, median(v)]));
    results.sessionSetupMs = median(setup);
    results.sessionSetupStepsMs = stepMedians;
    row('session setup, ticket → exit of `true` (ms, median)', median(setup), '');
    const reached = Object.entries(stepMedians).map(([k, v]) => `${k} ${v.toFixed(0)}`);
    row('  each step reached at (ms from the start, medians)', reached.join(', '), '');
  }
  if (section('tls')) {
    const tls = await measureTlsHandshakes();
    results.tlsHandshakes = tls;
    const show = (c: HandshakeCost) => `${c.medianMs.toFixed(2)} / ${c.cpuMs.toFixed(2)}`;
    row('TLS handshake, P-256 relay and login certificates: median / CPU of both ends (ms)', show(tls.minted), '');
    row('  the same with RSA-3072 and RSA-2048, as minted before stop 20 (ms)', show(tls.rsaBefore), '');
  }
  // --- keystroke echo: one byte through a PTY running `cat` in raw mode ---------------------------
  if (section('echo')) {
    const viaRelayEcho = await measureSessionEcho(await newSession(), ECHO_WARMUP);
    // New sessions on the same relay and agent, one after another: a terminal opened on a VM
    // whose agent has served sessions before. The first few still run per-session code V8 has
    // not optimised yet; the later ones show the steady state.
    const viaRelayNextSessions: EchoLatency[] = [];
    for (let i = 0; i < NEXT_SESSIONS; i++) viaRelayNextSessions.push(await measureSessionEcho(await newSession(), 0));
    const cliEcho = await measureCliEcho(airlockBin, home, 'bench-vm', ECHO_WARMUP);
    const directEcho = await measureSessionEcho(
      await connectDirect(direct.info, credentials, [source.port]),
      ECHO_WARMUP,
    );
    const opensshEcho = haveSshd ? await measureOpensshEcho(sshd as PrivateSshd, ECHO_WARMUP) : undefined;
    results.echoMs = {
      viaRelay: viaRelayEcho,
      viaRelayNextSessions,
      viaRelayCli: cliEcho,
      withoutRelay: directEcho,
      openssh: opensshEcho,
    };
    const echoRows = (label: string, e: EchoLatency | undefined) => {
      row(`${label} p50 / p99 (ms)`, e?.p50.toFixed(2) ?? 'n/a', e?.p99.toFixed(2) ?? 'n/a');
      if (e?.warm)
        row(`  the same after ${e.warm.after} keystrokes (warm)`, e.warm.p50.toFixed(2), e.warm.p99.toFixed(2));
    };
    echoRows('keystroke echo via relay', viaRelayEcho);
    row(
      `  ${NEXT_SESSIONS} new sessions after it, in turn: p99 (ms)`,
      viaRelayNextSessions.map((e) => e.p99.toFixed(1)).join(' '),
      '',
    );
    echoRows('keystroke echo via relay, through `airlock shell -t`', cliEcho);
    echoRows('keystroke echo without relay', directEcho);
    echoRows('keystroke echo, OpenSSH ssh -tt → sshd', opensshEcho);
  }

  // Whole commands last (on loopback they are timed with spawnSync, which blocks this process).
  if (section('commands')) {
    const baseline = BASELINE;
    const times = await measureCommands({
      home,
      tmp,
      relayUrl: relay.info.url,
      sshd: haveSshd ? (sshd as PrivateSshd) : undefined,
      rttMs: RTT_MS,
      baseline,
    });
    results.commandsMs = times;
    const [ms, far] = [times.loopback, times.rtt40];
    const ratio = (a: number | undefined, b: number | undefined) => (a && b ? (a / b).toFixed(2) : 'n/a');
    row('`airlock exec vm -- true` whole command (ms)', ms.airlockExecTrue!, far.airlockExecTrue!);
    row('`ssh host true` whole command (ms)', ms.sshTrue ?? 'n/a', far.sshTrue ?? 'n/a');
    row('`airlock exec` ÷ `ssh true`', ratio(ms.airlockExecTrue, ms.sshTrue), ratio(far.airlockExecTrue, far.sshTrue));
    row('`airlock --help` (ms)', ms.airlockHelp!, '');
    row('`node -e 0`, for scale (ms)', ms.nodeNothing!, '');
    if (baseline) {
      row("this build's bundle, run by node: `exec vm -- true` (ms)", ms.bundleExecTrue!, far.bundleExecTrue!);
      row(`baseline ${baseline}: \`exec vm -- true\` (ms)`, ms.baselineExecTrue!, far.baselineExecTrue!);
      row(`baseline ${baseline}: \`--help\` (ms)`, ms.baselineHelp!, '');
      row(
        'baseline `exec` ÷ `ssh true`',
        ratio(ms.baselineExecTrue, ms.sshTrue),
        ratio(far.baselineExecTrue, far.sshTrue),
      );
    }
  }

  // --- the desktop app in browser mode, in Debian's Chromium ----------------------------------------
  const app = await measureApp(home, 'bench-vm');
  results.app = app;
  if (typeof app === 'string') row('desktop app (browser mode)', `n/a: ${app}`, '');
  else {
    row('app start → interactive VM list, warm (ms, median)', app.startToVmList.median, '');
    row('  the same, as the driver saw it (its polling included)', app.startToVmList.seenByDriverMedian, '');
    const p = app.startToVmList.phases;
    row(
      '  address printed / tab open / DOMContentLoaded / API open (ms)',
      `${p.address}/${p.tab}/${p.domContentLoaded}/${p.apiOpen}`,
      '',
    );
    row(
      'keystroke echo in the app (xterm, via relay) p50 / p99 (ms)',
      app.echo.p50.toFixed(2),
      app.echo.p99.toFixed(2),
    );
  }

  // --- the desktop app's renderer as users download it (built by bundlePrograms above) ------------
  const renderer = rendererGzippedBytes();
  results.rendererBytes = renderer;
  row('renderer bundle, gzipped (KB)', renderer.reduce((n, f) => n + f.gzipped, 0) / 1024, '');
  const firstScreen = renderer.filter((f) => f.firstScreen);
  row('  of it loaded for the first screen (KB)', firstScreen.reduce((n, f) => n + f.gzipped, 0) / 1024, '');

  // --- report ----------------------------------------------------------------------------------
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
  results.machine = machine;
  results.date = new Date().toISOString();
  results.transferMB = { loopback: MB, rtt40: MB / 2 };
  results.runs = RUNS;
  results.loadAverage = { start: loadAtStart, end: await loadAverage() };
  const w = Math.max(...table.map((r) => r[0].length));
  console.log(`\nAirlock bench — ${results.date} — ${machine}`);
  console.log(
    `${MB} MB per loopback run, ${RUNS} runs (median (min–max)); CPU from /proc/<pid>/stat utime+stime of each program's process tree; load average ${loadAtStart} at start, ${(results.loadAverage as { end: string }).end} at end`,
  );
  console.log(`${'measure'.padEnd(w)}  ${'loopback'.padStart(9)}  ${`${RTT_MS} ms RTT`.padStart(10)}`);
  for (const [a, b, c] of table) console.log(`${a.padEnd(w)}  ${b.padStart(9)}  ${c.padStart(10)}`);
  const outDir = join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-${(results.date as string).slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwritten to ${file}`);
}

function startAgentChild(cfg: string): Promise<Child<unknown>> {
  // The agent prints pino JSON lines; the first one (agent starting) says it is up.
  return longRunningChild('apps/agent/src/main.ts', ['--config', cfg], { AIRLOCK_LOG_LEVEL: 'info' });
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
