/**
 * A whole Airlock on 127.0.0.1 for cross-program tests: the relay in this process (so a test
 * can watch every frame it copies), the agent as a real child process, and the real `airlock`
 * CLI run through the repo's wrapper with its own AIRLOCK_HOME.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { createRelay, enrollVm, type Direction, type Relay } from '@airlock/relay';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const airlockBin = join(repoRoot, 'airlock');

export interface Frames {
  up: Buffer[];
  down: Buffer[];
}

export interface System {
  relay: Relay;
  dir: string;
  home: string;
  vm: string;
  user: string;
  frames: Map<string, Frames>;
  agent: AgentProcess;
  /** Runs `airlock …` with this system's AIRLOCK_HOME. */
  cli(
    args: string[],
    opts?: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> },
  ): Promise<CliResult>;
  /** Starts `airlock …` and leaves it running. */
  spawnCli(args: string[]): ChildProcess;
  startAgent(overrides?: Record<string, unknown>): Promise<AgentProcess>;
  close(): Promise<void>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface AgentProcess {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Ports the VM, the grant and the agent's policy allow. */
  ports?: number[];
  /** Ports the agent's own policy allows, if different. */
  agentPorts?: number[];
  /** Do not start the agent (tests that start their own). */
  noAgent?: boolean;
}

const quietLogger = () => pino({ level: process.env.AIRLOCK_TEST_LOG ?? 'silent' });

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-it-'));
  const home = join(dir, 'connect');
  mkdirSync(home, { mode: 0o700 });
  const frames = new Map<string, Frames>();
  const relay = await createRelay({
    config: { host: '127.0.0.1', port: 0, dataDir: join(dir, 'relay') },
    logger: quietLogger(),
    observer: {
      onFrame(sid: string, direction: Direction, data: Buffer) {
        let f = frames.get(sid);
        if (!f) frames.set(sid, (f = { up: [], down: [] }));
        f[direction].push(Buffer.from(data));
      },
    },
  });
  const vm = 'test-vm';
  const user = 'alice';
  const ports = options.ports ?? [];
  const credential = await enrollVm(relay.directory, vm, ports);
  const credentialFile = join(dir, 'agent-credential');
  writeFileSync(credentialFile, credential + '\n', { mode: 0o600 });

  const cli: System['cli'] = (args, opts = {}) => runCli(args, home, opts);
  const spawnCli: System['spawnCli'] = (args) =>
    spawn(airlockBin, args, { env: { ...process.env, AIRLOCK_HOME: home }, stdio: 'pipe' });

  // The user makes a key with the CLI; the admin registers its public key and grants the VM.
  const login1 = await cli(['login', '--relay', relay.url, '--user', user]);
  if (login1.code === 0) throw new Error('login with an unregistered key should fail');
  const pub = await cli(['key', 'show', '--json']);
  if (pub.code !== 0) throw new Error(`airlock key show failed: ${pub.stderr}`);
  const { publicKeyPem } = JSON.parse(pub.stdout) as { publicKeyPem: string };
  await relay.directory.addUser({ name: user, publicKeyPem });
  await relay.directory.grant({ user, vm, ports });
  const login2 = await cli(['login', '--relay', relay.url, '--user', user]);
  if (login2.code !== 0) throw new Error(`airlock login failed: ${login2.stderr}`);

  const agentConfigBase = {
    relayUrl: relay.wsUrl,
    vmId: vm,
    credentialFile,
    relayPublicKeyPem: relay.publicKeyPem,
    policy: { allowedPorts: options.agentPorts ?? ports },
  };
  const agents: AgentProcess[] = [];
  const startAgentProc = async (overrides: Record<string, unknown> = {}): Promise<AgentProcess> => {
    const cfgFile = join(dir, `agent-${agents.length}.json`);
    writeFileSync(cfgFile, JSON.stringify({ ...agentConfigBase, ...overrides }), { mode: 0o600 });
    chmodSync(cfgFile, 0o600);
    const a = spawnAgent(cfgFile);
    agents.push(a);
    return a;
  };
  let agent: AgentProcess | undefined;
  if (!options.noAgent) {
    agent = await startAgentProc();
    await waitFor(
      () => relay.isAgentOnline(vm),
      20_000,
      () => `agent never came online:\n${agent?.output()}`,
    );
  }

  return {
    relay,
    dir,
    home,
    vm,
    user,
    frames,
    get agent() {
      if (!agent) throw new Error('no agent in this system');
      return agent;
    },
    cli,
    spawnCli,
    startAgent: startAgentProc,
    async close() {
      await Promise.all(agents.map((a) => a.stop()));
      await relay.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function spawnAgent(configFile: string): AgentProcess {
  const child = spawn(join(repoRoot, 'airlock-agent'), ['--config', configFile], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AIRLOCK_LOG_LEVEL: 'debug' },
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await once(child, 'exit');
      clearTimeout(t);
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
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`airlock ${args.join(' ')} timed out; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
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
