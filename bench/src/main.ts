// `npm run bench`: throughput, setup time and echo latency, side by side in one run.
// Prints a table and writes bench/results/bench-<date>.json. Not part of `npm test`.
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { JsonFileDirectory, enrollVm } from '@airlock/relay';
import { sshFingerprintB64 } from '@airlock/shared';
import {
  ConfigStore,
  UserKeyStore,
  airlockPaths,
  connectVmSession,
  openVmSession,
  type VmSession,
} from '@airlock/connect';
import { bundlePrograms } from '../../scripts/tasks/bundle.js';
import { startDelayProxy } from './delay-proxy.js';
import { startPrivateSshd, startSshForward, type PrivateSshd } from './openssh.js';
import { airlockBin, repoRoot, startJsonChild, tsxChild, type Child } from './processes.js';
import { measureDownload, startSourceService } from './traffic.js';

const MB = Number(process.env.BENCH_MB ?? 200);
const BYTES = MB * 1_000_000;
const RTT_MS = 40;
const results: Record<string, unknown> = {};
const stops: Array<() => void> = [];
const tmp = mkdtempSync(join(tmpdir(), 'airlock-bench-'));

function cli(home: string, args: string[]): string {
  const r = spawnSync(airlockBin, args, { env: { ...process.env, AIRLOCK_HOME: home }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`airlock ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const best = async (f: () => Promise<number>, n = 3) => {
  const xs: number[] = [];
  for (let i = 0; i < n; i++) xs.push(await f());
  return Math.max(...xs);
};

async function main(): Promise<void> {
  // The CLI is measured as users run it: from the fresh bundle, not through tsx.
  await bundlePrograms();
  const source = await startSourceService();
  stops.push(() => source.server.close());
  const ports = [source.port];

  // --- the system: relay child, agent child, the user set up through the real CLI ----------
  const dataDir = join(tmp, 'relay');
  mkdirSync(dataDir);
  const home = join(tmp, 'connect');
  cli(home, ['key', 'generate']);
  const { publicKeyPem, fingerprint } = JSON.parse(cli(home, ['key', 'show', '--json'])) as {
    publicKeyPem: string;
    fingerprint: string;
  };
  const dir = await JsonFileDirectory.open(dataDir);
  const credential = await enrollVm(dir, 'bench-vm', ports);
  await dir.addUser({ name: 'bench', publicKeyPem });
  await dir.grant({ user: 'bench', vm: 'bench-vm', ports });
  const relay = await tsxChild<{ url: string; wsUrl: string; publicKeyPem: string }>('bench/src/relay-process.ts', [
    dataDir,
  ]);
  stops.push(relay.stop);
  const agentCfg = join(tmp, 'agent.json');
  writeFileSync(
    agentCfg,
    JSON.stringify({
      relayUrl: relay.info.wsUrl,
      vmId: 'bench-vm',
      credential,
      relayPublicKeyPem: relay.info.publicKeyPem,
      policy: { allowedPorts: ports },
      shell: '/bin/sh',
      logLevel: 'warn',
    }),
    { mode: 0o600 },
  );
  const agentChild = await startAgentChild(agentCfg);
  stops.push(agentChild.stop);
  cli(home, ['login', '--relay', relay.info.url, '--user', 'bench']);
  for (let i = 0; ; i++) {
    const vms = JSON.parse(cli(home, ['vms', '--json'])) as
      { vms?: Array<{ online: boolean }> } | Array<{ online: boolean }>;
    const list = Array.isArray(vms) ? vms : (vms.vms ?? []);
    if (list.some((v) => v.online)) break;
    if (i > 100) throw new Error('the bench agent never came online');
    await new Promise((r) => setTimeout(r, 100));
  }

  // --- the paths to compare ---------------------------------------------------------------
  const viaRelay = async (relayUrl: string, homeDir: string) => {
    if (relayUrl !== relay.info.url) await cliAsync(homeDir, ['login', '--relay', relayUrl, '--user', 'bench']);
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
  const direct = await tsxChild<{ url: string; hostKey: string }>('bench/src/direct-agent-process.ts', [
    fingerprint,
    String(source.port),
  ]);
  stops.push(direct.stop);
  const directForward = (url: string) =>
    tsxChild<{ localPort: number }>('bench/src/connect-forward-process.ts', [
      url,
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
  const throughput: Record<string, { loopback: number; rtt40?: number }> = {};

  // loopback
  const fRelay = await viaRelay(relay.info.url, home);
  throughput.viaRelay = { loopback: await best(() => measureDownload(fRelay.info.localPort, BYTES)) };
  const fDirect = await directForward(direct.info.url);
  stops.push(fDirect.stop);
  throughput.withoutRelay = { loopback: await best(() => measureDownload(fDirect.info.localPort, BYTES)) };
  if (haveSshd) {
    const s = await startSshForward(sshd as PrivateSshd, source.port);
    stops.push(s.stop);
    throughput.opensshL = { loopback: await best(() => measureDownload(s.port, BYTES)) };
  }
  throughput.rawTcp = { loopback: await best(() => measureDownload(source.port, BYTES)) };

  // 40 ms round trip between the workstation and the enclave edge
  const oneWay = RTT_MS / 2;
  const relayProxy = await startDelayProxy(Number(new URL(relay.info.url).port), oneWay);
  const home40 = join(tmp, 'connect-40');
  mkdirSync(home40, { mode: 0o700 });
  for (const f of ['user-key.pem', 'user-key.pub.pem'])
    writeFileSync(join(home40, f), readFileSync(join(home, f)), { mode: 0o600 });
  const fRelay40 = await viaRelay(`http://127.0.0.1:${relayProxy.port}`, home40);
  throughput.viaRelay!.rtt40 = await best(() => measureDownload(fRelay40.info.localPort, BYTES / 2), 2);
  const directProxy = await startDelayProxy(Number(new URL(direct.info.url).port), oneWay);
  const fDirect40 = await directForward(`http://127.0.0.1:${directProxy.port}`);
  stops.push(fDirect40.stop);
  throughput.withoutRelay!.rtt40 = await best(() => measureDownload(fDirect40.info.localPort, BYTES / 2), 2);
  if (haveSshd) {
    const sshProxy = await startDelayProxy((sshd as PrivateSshd).port, oneWay);
    const s40 = await startSshForward(sshd as PrivateSshd, source.port, ['-p', String(sshProxy.port)]);
    stops.push(s40.stop);
    throughput.opensshL!.rtt40 = await best(() => measureDownload(s40.port, BYTES / 2), 2);
  }
  const rawProxy = await startDelayProxy(source.port, oneWay);
  throughput.rawTcp!.rtt40 = await best(() => measureDownload(rawProxy.port, BYTES / 2), 2);
  results.throughputMBps = throughput;

  for (const [k, label] of [
    ['viaRelay', 'forward via relay (airlock forward)'],
    ['withoutRelay', 'same SSH path without the relay'],
    ['opensshL', 'OpenSSH ssh -L'],
    ['rawTcp', 'raw TCP'],
  ] as const) {
    const t = throughput[k];
    row(label + ' MB/s', t?.loopback ?? 'n/a', t?.rtt40 ?? 'n/a');
  }

  // --- setup time: ticket → first byte, and whole commands -----------------------------------
  const store = new ConfigStore(airlockPaths(home));
  const token = await store.accessToken(relay.info.url);
  if (!token.ok) throw new Error(token.error.message);
  const key = await new UserKeyStore(airlockPaths(home)).load();
  if (!key.ok) throw new Error(key.error.message);
  const userKey = key.value;
  const accessToken = token.value.accessToken;
  const newSession = async () => {
    const r = await openVmSession({
      relayUrl: relay.info.url,
      token: accessToken,
      vm: 'bench-vm',
      user: 'bench',
      userKey,
    });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const setup: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    const s = await newSession();
    const ex = await s.exec('true');
    if (!ex.ok) throw new Error(ex.error.message);
    await ex.value.exit;
    setup.push(performance.now() - t0);
    await s.close();
  }
  // --- keystroke echo: one byte through a PTY running `cat` in raw mode ---------------------------
  const viaRelayEcho = await measureEcho(await newSession());
  const direct0 = await connectVmSession({
    relayUrl: direct.info.url,
    session: {
      sessionId: randomUUID(),
      vm: 'bench-vm',
      ticket: 'unused-without-relay',
      hostKey: direct.info.hostKey,
      hostKeyFingerprint: sshFingerprintB64(direct.info.hostKey),
      ports: [source.port],
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    },
    user: 'bench',
    userKey,
  });
  if (!direct0.ok) throw new Error(direct0.error.message);
  const directEcho = await measureEcho(direct0.value);
  results.echoMs = { viaRelay: viaRelayEcho, withoutRelay: directEcho };
  row('keystroke echo via relay p50 / p99 (ms)', viaRelayEcho.p50.toFixed(2), viaRelayEcho.p99.toFixed(2));
  row('keystroke echo without relay p50 / p99 (ms)', directEcho.p50.toFixed(2), directEcho.p99.toFixed(2));

  // Whole commands last: spawnSync blocks this process, which would starve its own sockets.
  const cmd = (args: string[], env: Record<string, string> = {}) => {
    const xs: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      const r = spawnSync(args[0]!, args.slice(1), { env: { ...process.env, ...env }, stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
      xs.push(performance.now() - t0);
    }
    return median(xs);
  };
  const airlockExecTrue = cmd([airlockBin, 'exec', 'bench-vm', '--', 'true'], { AIRLOCK_HOME: home });
  const sshTrue = haveSshd ? cmd(['ssh', ...(sshd as PrivateSshd).sshArgs, 'true']) : undefined;
  results.setupMs = { sessionToExitInProcess: median(setup), airlockExecTrue, sshTrue: sshTrue ?? null };
  row('session setup, ticket → exit of `true` (ms, median)', median(setup), '');
  row('`airlock exec vm -- true` whole command (ms)', airlockExecTrue, '');
  row('`ssh host true` whole command (ms)', sshTrue ?? 'n/a', '');

  // --- report ----------------------------------------------------------------------------------
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
  results.machine = machine;
  results.date = new Date().toISOString();
  results.transferMB = { loopback: MB, rtt40: MB / 2 };
  const w = Math.max(...table.map((r) => r[0].length));
  console.log(`\nAirlock bench — ${results.date} — ${machine}`);
  console.log(`${'measure'.padEnd(w)}  ${'loopback'.padStart(9)}  ${`${RTT_MS} ms RTT`.padStart(10)}`);
  for (const [a, b, c] of table) console.log(`${a.padEnd(w)}  ${b.padStart(9)}  ${c.padStart(10)}`);
  const outDir = join(repoRoot, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `bench-${(results.date as string).slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwritten to ${file}`);
}

/** One byte at a time through a PTY running `cat` in raw mode; closes the session. */
async function measureEcho(s: VmSession): Promise<{ p50: number; p99: number; samples: number }> {
  const sh = await s.openShell({ pty: true, cols: 80, rows: 24 });
  if (!sh.ok) throw new Error(sh.error.message);
  let seen = '';
  let waiter: (() => void) | undefined;
  sh.value.stdout.on('data', (d: Buffer) => {
    seen += d.toString('latin1');
    waiter?.();
  });
  sh.value.stdin.write('stty raw -echo; echo READY; exec cat\r');
  while (!seen.includes('READY')) await new Promise<void>((r) => (waiter = r));
  await new Promise((r) => setTimeout(r, 300));
  const echo: number[] = [];
  for (let i = 0; i < 400; i++) {
    seen = '';
    const ch = String.fromCharCode(97 + (i % 26));
    const t0 = performance.now();
    sh.value.stdin.write(ch);
    while (!seen.includes(ch)) await new Promise<void>((r) => (waiter = r));
    echo.push(performance.now() - t0);
  }
  await s.close();
  return { p50: pct(echo, 0.5), p99: pct(echo, 0.99), samples: echo.length };
}

function startAgentChild(cfg: string): Promise<Child<unknown>> {
  // The agent prints pino JSON lines; the first one (agent starting) says it is up.
  return tsxChild('apps/agent/src/main.ts', ['--config', cfg], { AIRLOCK_LOG_LEVEL: 'info' });
}

try {
  await main();
} finally {
  for (const s of stops.reverse()) s();
  rmSync(tmp, { recursive: true, force: true });
}
process.exit(0);
