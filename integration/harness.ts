/**
 * A whole Airlock on 127.0.0.1 for cross-program tests: the relay in this process (so a test
 * can watch every frame it copies), the agent as a real child process, and the real `airlock`
 * CLI run through the repo's wrapper with its own AIRLOCK_HOME.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { WebSocket } from 'ws';
import { createRelay, type Direction, type Relay } from '@airlock/relay';
import { privateTestShell } from '@airlock/shared/testing';
import { setUpOrg, type OrgSetup } from './org-harness.js';
import { spawnAgent, type AgentProcess } from './support/agent-process.js';
import {
  dataSocket,
  readUserSession,
  relayApi,
  type ApiReply,
  type ClientCert,
  type UserSession,
} from './support/relay-user.js';

export type { AgentProcess, ApiReply, ClientCert, UserSession };

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const airlockBin = join(repoRoot, 'airlock');
const askpass = join(repoRoot, 'integration', 'support', 'askpass.sh');
/** The password the test user chooses for their key file. */
export const TEST_PASSWORD = 'correct horse battery staple';

export interface Frames {
  up: Buffer[];
  down: Buffer[];
}

export interface System {
  relay: Relay;
  /** The organisation root, when the system was started with `org`. */
  org?: OrgSetup;
  dir: string;
  home: string;
  vm: string;
  user: string;
  frames: Map<string, Frames>;
  agent: AgentProcess;
  /** The user's one-time enrollment code, with `userEnrollsLater` (else undefined: the CLI used it). */
  enrollmentCode: string | undefined;
  /** Runs `airlock …` with this system's AIRLOCK_HOME. */
  cli(
    args: string[],
    opts?: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> },
  ): Promise<CliResult>;
  /** Starts `airlock …` and leaves it running. */
  spawnCli(args: string[]): ChildProcess;
  /** The environment `airlock` runs with here: its home, and the askpass stand-in for the person. */
  cliEnv: Record<string, string>;
  /** The logged-in user's token and the client certificate it is bound to (from Connect's session file). */
  userSession(): UserSession;
  /** One API call to the relay as the logged-in user, over pinned mutual TLS. */
  api(
    method: string,
    path: string,
    body?: unknown,
    as?: { token?: string; cert?: ClientCert | null },
  ): Promise<ApiReply>;
  /** Connect's data socket for a session, presenting the user's client certificate. */
  connectWs(sid: string, ticket: string, cert?: ClientCert | null): WebSocket;
  startAgent(overrides?: Record<string, unknown>): Promise<AgentProcess>;
  /** Another enrolled, logged-in user with a grant to the VM (its own AIRLOCK_HOME). */
  addUser(name: string): Promise<OtherUser>;
  close(): Promise<void>;
}

/** A second person on the same system: their own Connect home, login and client certificate. */
export interface OtherUser {
  name: string;
  home: string;
  cli: System['cli'];
  spawnCli: System['spawnCli'];
  api: System['api'];
  connectWs: System['connectWs'];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface SystemOptions {
  /** Ports the VM, the grant and the agent's policy allow. */
  ports?: number[];
  /** Ports the agent's own policy allows, if different. */
  agentPorts?: number[];
  /** Do not start the agent (tests that start their own). */
  noAgent?: boolean;
  /** Extra relay configuration (short token lifetimes, low lockout thresholds…). */
  relayConfig?: Record<string, unknown>;
  /** Extra agent configuration for the agent started with the system (limits, sftpServerPath…). */
  agentConfig?: Record<string, unknown>;
  /**
   * The relay's clock (tokens, tickets, TOTP, lockouts, /healthz), for tests that move time instead of
   * waiting; the askpass stand-in's authenticator follows it, as a phone agrees with the relay.
   */
  relayNow?: () => number;
  /** With an organisation root: users and the VM enroll with v2 codes the test's root signed. */
  org?: boolean;
  /**
   * Create the user and the grant but leave the enrollment to the test (the desktop app's):
   * `enrollmentCode` is the user's one-time code, and the CLI is not run.
   */
  userEnrollsLater?: boolean;
}

const quietLogger = () => pino({ level: process.env.AIRLOCK_TEST_LOG ?? 'silent' });

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-it-'));
  const home = join(dir, 'connect');
  mkdirSync(home, { mode: 0o700 });
  const frames = new Map<string, Frames>();
  const relay = await createRelay({
    config: { host: '127.0.0.1', port: 0, dataDir: join(dir, 'relay'), ...options.relayConfig },
    logger: quietLogger(),
    ...(options.relayNow ? { now: options.relayNow } : {}),
    observer: {
      onFrame(sid: string, direction: Direction, data: Buffer) {
        let f = frames.get(sid);
        if (!f) frames.set(sid, (f = { up: [], down: [] }));
        f[direction].push(Buffer.from(data));
      },
    },
  });
  try {
    return await setUpSystem(relay, dir, home, frames, options);
  } catch (error) {
    // A half-built system must not keep the test process alive.
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function setUpSystem(
  relay: Relay,
  dir: string,
  home: string,
  frames: Map<string, Frames>,
  options: SystemOptions,
): Promise<System> {
  const vm = 'test-vm';
  const user = 'alice';
  const ports = options.ports ?? [];
  const cliFor = (userHome: string, userName: string) => {
    const env: Record<string, string> = {
      AIRLOCK_HOME: userHome,
      AIRLOCK_ASKPASS: askpass,
      AIRLOCK_TEST_PASSWORD: TEST_PASSWORD,
      AIRLOCK_TEST_RELAY_DB: join(dir, 'relay', 'relay.db'),
      AIRLOCK_TEST_USER: userName,
    };
    const clockOffset = (): Record<string, string> =>
      options.relayNow ? { AIRLOCK_TEST_CLOCK_OFFSET_MS: String(options.relayNow() - Date.now()) } : {};
    const run: System['cli'] = (args, opts = {}) =>
      runCli(args, userHome, { ...opts, env: { ...env, ...clockOffset(), ...opts.env } });
    const spawnIt: System['spawnCli'] = (args) =>
      spawn(airlockBin, args, { env: { ...process.env, ...env }, stdio: 'pipe' });
    return { env, run, spawnIt };
  };
  const { env: cliEnv, run: cli, spawnIt: spawnCli } = cliFor(home, user);

  // The admin creates the user and grants the VM; the user enrolls with the real CLI (password,
  // TOTP) and logs in, as a person would.
  const org = options.org ? await setUpOrg(relay) : undefined;
  const enrollUser = async (name: string, run: System['cli'], later = false): Promise<string | undefined> => {
    let code: string;
    if (org) {
      const createdUser = await relay.admin.createUserWithoutCode('test', name);
      if (!createdUser.ok) throw new Error(createdUser.error.message);
      code = await org.code('user', name);
    } else {
      const createdUser = await relay.admin.createUser('test', name);
      if (!createdUser.ok) throw new Error(createdUser.error.message);
      code = createdUser.value.enrollment.code;
    }
    const granted = await relay.admin.putGrant('test', { user: name, vm, ports });
    if (!granted.ok) throw new Error(granted.error.message);
    if (later) return code;
    const enrolled = await run(['enroll', relay.url, code, '--device-name', 'test laptop']);
    if (enrolled.code !== 0) throw new Error(`airlock enroll failed: ${enrolled.stderr}`);
    const login = await run(['login']);
    if (login.code !== 0) throw new Error(`airlock login failed: ${login.stderr}`);
    return undefined;
  };

  // The agent enrolls with its one-time token on first start.
  let agentToken: string;
  if (org) {
    const createdVm = await relay.admin.createVmWithoutToken('test', vm, ports);
    if (!createdVm.ok) throw new Error(createdVm.error.message);
    agentToken = await org.code('vm', vm);
  } else {
    const createdVm = await relay.admin.createVm('test', vm, ports);
    if (!createdVm.ok) throw new Error(createdVm.error.message);
    agentToken = createdVm.value.agentEnrollment.token;
  }
  const enrollmentCode = await enrollUser(user, cli, options.userEnrollsLater);

  const agentConfigBase = {
    relayUrl: relay.url,
    stateDir: join(dir, 'agent-state'),
    enrollmentToken: agentToken,
    policy: { allowedPorts: options.agentPorts ?? ports },
    shell: privateTestShell(),
  };
  const agents: AgentProcess[] = [];
  const startAgentProc = async (overrides: Record<string, unknown> = {}): Promise<AgentProcess> => {
    const cfgFile = join(dir, `agent-${agents.length}.json`);
    writeFileSync(cfgFile, JSON.stringify({ ...agentConfigBase, ...overrides }), { mode: 0o600 });
    chmodSync(cfgFile, 0o600);
    const a = spawnAgent(repoRoot, cfgFile);
    agents.push(a);
    return a;
  };
  let agent: AgentProcess | undefined;
  if (!options.noAgent) {
    agent = await startAgentProc(options.agentConfig);
    await waitFor(
      () => relay.isAgentOnline(vm),
      20_000,
      () => `agent never came online:\n${agent?.output()}`,
    );
  }

  return {
    relay,
    ...(org ? { org } : {}),
    dir,
    home,
    vm,
    user,
    frames,
    enrollmentCode,
    get agent() {
      if (!agent) throw new Error('no agent in this system');
      return agent;
    },
    cli,
    spawnCli,
    cliEnv,
    userSession: () => readUserSession(home),
    api: (method, path, body, as) => relayApi(relay, readUserSession(home), method, path, body, as),
    connectWs: (sid, ticket, cert) => dataSocket(relay, home, sid, ticket, cert),
    startAgent: startAgentProc,
    async addUser(name) {
      const userHome = join(dir, `connect-${name}`);
      mkdirSync(userHome, { mode: 0o700 });
      const c = cliFor(userHome, name);
      await enrollUser(name, c.run);
      return {
        name,
        home: userHome,
        cli: c.run,
        spawnCli: c.spawnIt,
        api: (method, path, body, as) => relayApi(relay, readUserSession(userHome), method, path, body, as),
        connectWs: (sid, ticket, cert) => dataSocket(relay, userHome, sid, ticket, cert),
      };
    },
    async close() {
      await Promise.all(agents.map((a) => a.stop()));
      await relay.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function runCli(
  args: string[],
  home: string,
  opts: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(airlockBin, args, {
      env: { ...process.env, AIRLOCK_HOME: home, ...opts.env },
      stdio: 'pipe',
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A guard against a hung CLI, not a speed check: under a loaded 2-core machine an enroll
    // (scrypt at N=2^17, several TLS handshakes, node start-ups) has been seen to take 30 s.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`airlock ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, stdout: stdoutBytes.toString(), stderr, stdoutBytes });
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(what());
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
