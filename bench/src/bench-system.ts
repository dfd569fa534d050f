// What `npm run bench` measures against: a relay child (VM, user and grant made by its admin
// service), the agent child enrolled with its one-time token, the user enrolled and logged in with
// Connect's core, a direct agent (the same SSH path without the relay) and a private sshd.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  openVmSession,
  sessionUserKey,
  type RelayCredentials,
  type SessionStep,
  type VmSession,
} from '@airlock/connect';
import { enrollAndLogin, loadCredentials } from './bench-user.js';
import { type DirectAgentInfo } from './direct-session.js';
import { startPrivateSshd, type PrivateSshd } from './openssh.js';
import { airlockBin, longRunningChild, startJsonChild, type Child } from './processes.js';
import { startSourceService } from './traffic.js';

/** The VM the relay registers and the agent serves. */
export const BENCH_VM = 'bench-vm';

/** What relay-process.ts prints. */
export interface RelayInfo {
  url: string;
  wsUrl: string;
  pin: string;
  publicKeyPem: string;
  agentToken: string;
  userCode: string;
}

type Stops = Array<() => void | Promise<void>>;

export interface BenchSystem {
  tmp: string;
  /** Connect's home, logged in as the bench user. */
  home: string;
  credentials: RelayCredentials;
  /** The TCP service the forwards reach: sends or swallows bytes on request. */
  sourcePort: number;
  relay: Child<RelayInfo>;
  agent: Child<unknown>;
  direct: Child<DirectAgentInfo>;
  /** Undefined when this machine has no sshd to start. */
  sshd: PrivateSshd | undefined;
  /** `airlock forward` to the source service, logged in from `homeDir`. */
  forwardViaRelay(homeDir: string): Promise<Child<{ localPort: number }>>;
  /** The same forward to the direct agent at `url` (no relay), started with the same flags. */
  forwardWithoutRelay(url: string): Promise<Child<{ localPort: number }>>;
  newSession(onStep?: (step: SessionStep) => void): Promise<VmSession>;
  /** Stops `stop`'s process with the rest of the system when the bench ends. */
  stopLater(stop: () => void | Promise<void>): void;
}

/** Starts the system; everything it starts is pushed onto `stops`, in the order to undo. */
export async function startBenchSystem(tmp: string, stops: Stops): Promise<BenchSystem> {
  const source = await startSourceService();
  stops.push(() => void source.server.close());
  const ports = [source.port];
  const home = join(tmp, 'connect');
  const relay = await longRunningChild<RelayInfo>('bench/src/relay-process.ts', [
    join(tmp, 'relay'),
    BENCH_VM,
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
  // The agent prints pino JSON lines; the first one (agent starting) says it is up.
  const agent = await longRunningChild('apps/agent/src/main.ts', ['--config', agentCfg], { AIRLOCK_LOG_LEVEL: 'info' });
  stops.push(agent.stop);
  await enrollAndLogin(relay.info.url, relay.info.userCode, 'bench', home);
  await waitForAgentOnline(home);

  const credentials = await loadCredentials(home);
  // The direct agent accepts what the relay's tickets name: the login certificate's key.
  const direct = await longRunningChild<DirectAgentInfo>('bench/src/direct-agent-process.ts', [
    sessionUserKey(credentials).fingerprint,
    String(source.port),
  ]);
  stops.push(direct.stop);
  const started = await startPrivateSshd();
  const sshd = 'unavailable' in started ? undefined : started;
  if (sshd) stops.push(sshd.stop);

  return {
    tmp,
    home,
    credentials,
    sourcePort: source.port,
    relay,
    agent,
    direct,
    sshd,
    async forwardViaRelay(homeDir) {
      const f = await startJsonChild<{ localPort: number }>(
        airlockBin,
        ['forward', BENCH_VM, `${source.port}:0`, '--json'],
        { AIRLOCK_HOME: homeDir },
      );
      stops.push(f.stop);
      return f;
    },
    async forwardWithoutRelay(url) {
      const f = await longRunningChild<{ localPort: number }>('bench/src/connect-forward-process.ts', [
        url,
        direct.info.pin,
        direct.info.hostKey,
        home,
        String(source.port),
      ]);
      stops.push(f.stop);
      return f;
    },
    async newSession(onStep) {
      const r = await openVmSession({ credentials, vm: BENCH_VM, ...(onStep ? { onStep } : {}) });
      if (!r.ok) throw new Error(r.error.message);
      return r.value;
    },
    stopLater: (stop) => void stops.push(stop),
  };
}

async function waitForAgentOnline(home: string): Promise<void> {
  for (let i = 0; ; i++) {
    const vms = JSON.parse(await cliAsync(home, ['vms', '--json'])) as
      { vms?: Array<{ online: boolean }> } | Array<{ online: boolean }>;
    const list = Array.isArray(vms) ? vms : (vms.vms ?? []);
    if (list.some((v) => v.online)) return;
    if (i > 100) throw new Error('the bench agent never came online');
    await new Promise((r) => setTimeout(r, 100));
  }
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
