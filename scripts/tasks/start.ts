// `npm start`: the whole system on this machine with embedded defaults — a relay on
// 127.0.0.1, an agent that treats this machine as "demo-vm", a small web page on the VM's
// port 8888 for the forward demo, and a demo user already logged in. Then it prints what
// to type next. State lives in .demo/ (ignored by git) and survives restarts.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import pino from 'pino';
import { resolveAgentConfig, startAgent } from '@airlock/agent';
import { createRelay, enrollVm, rotateVmCredential, type Relay } from '@airlock/relay';
import { bundlePrograms } from './bundle.js';
import { repoRoot } from './tools.js';

const VM = 'demo-vm';
const USER = 'demo';
const DEMO_APP_PORT = 8888;
const PORTS = [DEMO_APP_PORT, 2222];
const relayPort = Number(process.env.AIRLOCK_RELAY_PORT ?? 7443);
const demo = join(repoRoot, '.demo');
const connectHome = join(demo, 'connect');
const airlock = join(repoRoot, 'airlock');
const log = pino({ level: process.env.AIRLOCK_LOG_LEVEL ?? 'warn' });

function die(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

/** Async on purpose: the relay lives in this process, so a blocking spawn would starve it. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(airlock, args, { env: { ...process.env, AIRLOCK_HOME: connectHome } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function agentCredential(relay: Relay): Promise<string> {
  const file = join(demo, 'agent-credential');
  if ((await relay.directory.getVm(VM)) && existsSync(file)) return readFileSync(file, 'utf8').trim();
  const credential = (await relay.directory.getVm(VM))
    ? await rotateVmCredential(relay.directory, VM)
    : await enrollVm(relay.directory, VM, PORTS);
  writeFileSync(file, credential + '\n', { mode: 0o600 });
  return credential;
}

async function demoUser(relay: Relay): Promise<void> {
  // The user side goes through the real CLI, as a person would: make a key, show it, log in.
  if ((await cli(['login', '--relay', relay.url, '--user', USER])).code === 0) return;
  const shown = await cli(['key', 'show', '--json']);
  if (shown.code !== 0) die(`could not read the demo user's key: ${shown.stderr.trim()}`);
  const { publicKeyPem } = JSON.parse(shown.stdout) as { publicKeyPem: string };
  if (!(await relay.directory.getUser(USER))) await relay.directory.addUser({ name: USER, publicKeyPem });
  if (!(await relay.directory.getGrant(USER, VM))) await relay.directory.grant({ user: USER, vm: VM, ports: PORTS });
  const login = await cli(['login', '--relay', relay.url, '--user', USER]);
  if (login.code !== 0) die(`demo login failed: ${login.stderr.trim()}`);
}

async function demoApp(): Promise<Server | undefined> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    res.end('<h1>Hello from demo-vm</h1><p>This page came through an Airlock forward.</p>\n');
  });
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(DEMO_APP_PORT, '127.0.0.1', () => resolve(server));
  });
}

await bundlePrograms();
mkdirSync(connectHome, { recursive: true, mode: 0o700 });
let relay: Relay;
try {
  relay = await createRelay({
    config: { host: '127.0.0.1', port: relayPort, dataDir: join(demo, 'relay') },
    logger: log,
  });
} catch (e) {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') die(`port ${relayPort} is in use; stop what uses it or set AIRLOCK_RELAY_PORT.`);
  throw e;
}
const credential = await agentCredential(relay);
const agent = await startAgent(
  resolveAgentConfig({
    relayUrl: relay.wsUrl,
    vmId: VM,
    credential,
    relayPublicKeyPem: relay.publicKeyPem,
    policy: { allowedPorts: PORTS },
    logLevel: process.env.AIRLOCK_LOG_LEVEL ?? 'warn',
  }),
);
await agent.whenOnline(15_000);
await demoUser(relay);
const app = await demoApp();

const home = connectHome;
console.log(`
Airlock is running on this machine (Ctrl-C stops everything):
  relay   ${relay.url}   (data in .demo/relay, signing key ${relay.publicKeyPath ?? 'in memory'})
  agent   ${VM}  host key ${agent.hostKeyFingerprint}  (this machine plays the VM; ports ${PORTS.join(', ')})
  user    ${USER}  (logged in; Connect's files in .demo/connect)
  app     ${app ? `http://127.0.0.1:${DEMO_APP_PORT} inside the "VM"` : `port ${DEMO_APP_PORT} was busy, no demo page`}

Try, in another terminal:
  export AIRLOCK_HOME=${home}
  ./airlock vms
  ./airlock shell ${VM}
  ./airlock exec ${VM} -- uname -a
  ./airlock forward ${VM} ${DEMO_APP_PORT}:0     # prints a local port; curl http://127.0.0.1:<port>/
  sftp -D "./airlock sftp-stdio ${VM}"
`);

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping…');
  app?.close();
  await agent.close();
  await relay.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
