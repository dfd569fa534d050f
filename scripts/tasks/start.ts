// `npm start`: the whole system on this machine with embedded defaults — a relay on
// 127.0.0.1 (HTTPS with its own self-signed certificate), an agent enrolled as "demo-vm" on this
// machine, a small web page on the VM's one allowed port (8888, or AIRLOCK_DEMO_APP_PORT) for
// the forward demo, and a demo user with a one-time enrollment code. Then it prints what to type
// next. State lives in .demo/ (ignored by git; AIRLOCK_DEMO_DIR elsewhere) and survives restarts.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { isAbsolute, join, relative } from 'node:path';
import pino from 'pino';
import { STATUS_FILE, enrollAgent, hasEnrollment, resolveAgentConfig, startAgent } from '@airlock/agent';
import { DataDirInUseError, createRelay, dataDirInUse, type Relay } from '@airlock/relay';
import { curlPin } from '@airlock/shared';
import { KeychainCache } from '@airlock/connect';
import { createDispatch } from '@airlock/connect/api/dispatch';
import { ConnectService } from '@airlock/connect/api/service/connect-service';
import { nodePlatform } from '@airlock/connect/api/service/platform';
import { openInBrowser } from '@airlock/connect/host/browser-launch';
import { startUiHost } from '@airlock/connect/host/ui-host';
import { bundlePrograms, RENDERER_DIR } from './bundle.js';
import { repoRoot } from './tools.js';

const VM = 'demo-vm';
const USER = 'demo';
const relayPort = portFromEnv('AIRLOCK_RELAY_PORT', 7443);
const DEMO_APP_PORT = portFromEnv('AIRLOCK_DEMO_APP_PORT', 8888);
const PORTS = [DEMO_APP_PORT];
// AIRLOCK_DEMO_DIR elsewhere: a second demo beside this one (its tests use it).
const demo = process.env.AIRLOCK_DEMO_DIR || join(repoRoot, '.demo');
const connectHome = join(demo, 'connect');
/** How the banner names the demo's folder: as typed from the repository, or in full elsewhere. */
const shown =
  relative(repoRoot, demo).startsWith('..') || isAbsolute(relative(repoRoot, demo)) ? demo : relative(repoRoot, demo);
const agentState = join(demo, 'agent');
const log = pino({ level: process.env.AIRLOCK_LOG_LEVEL ?? 'warn', timestamp: pino.stdTimeFunctions.isoTime });

function die(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

function portFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) die(`${name}=${text} is not a port number (1–65535).`);
  return port;
}

/** A demo VM from an earlier start with other ports follows AIRLOCK_DEMO_APP_PORT (VM and grant). */
async function alignDemoPorts(relay: Relay): Promise<void> {
  const vm = await relay.store.vms.get(VM);
  if (!vm || (vm.ports.length === PORTS.length && vm.ports.every((p, i) => p === PORTS[i]))) return;
  const set = await relay.admin.setVmPorts('npm-start', VM, PORTS);
  if (!set.ok) die(`could not set the demo VM's ports: ${set.error.message}`);
}

/** The demo VM exists and this machine's agent holds a credential for it (enrolled once, like a real VM). */
async function enrollDemoAgent(relay: Relay): Promise<void> {
  const vm = await relay.store.vms.get(VM);
  if (vm && hasEnrollment(agentState) && (await relay.store.agentCredentials.listActive(VM)).length > 0) return;
  // A relay whose data was wiped no longer knows the old credential: start the agent state afresh.
  if (existsSync(agentState)) rmSync(agentState, { recursive: true, force: true });
  const issued = vm
    ? await relay.admin.newAgentToken('npm-start', VM)
    : await relay.admin.createVm('npm-start', VM, PORTS);
  if (!issued.ok) die(`could not create the demo VM: ${issued.error.message}`);
  const enrolled = await enrollAgent({
    relayUrl: relay.url,
    token: issued.value.agentEnrollment.token,
    stateDir: agentState,
    force: true,
  });
  if (!enrolled.ok) die(`the demo agent could not enroll: ${enrolled.error.message}`);
}

/** The demo user and its grant; an enrollment code while no device is enrolled yet. */
async function demoUser(relay: Relay): Promise<{ enrollCommand?: string }> {
  const existing = await relay.store.users.get(USER);
  let command: string | undefined;
  if (!existing) {
    const created = await relay.admin.createUser('npm-start', USER);
    if (!created.ok) die(`could not create the demo user: ${created.error.message}`);
    command = created.value.enrollment.command;
  }
  const grant = await relay.store.grants.get(USER, VM);
  if (!grant || grant.ports?.join() !== PORTS.join())
    await relay.admin.putGrant('npm-start', { user: USER, vm: VM, ports: PORTS });
  const devices = (await relay.store.devices.list({ user: USER })).filter((d) => !d.revokedAt);
  if (!command && devices.length === 0) {
    const code = await relay.admin.newEnrollmentCode('npm-start', USER);
    if (!code.ok) die(`could not issue an enrollment code: ${code.error.message}`);
    command = code.value.enrollment.command;
  }
  return command ? { enrollCommand: command } : {};
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

// Before building: a second start must not rewrite the bundles the running one serves.
if (existsSync(join(demo, 'relay')) && dataDirInUse(join(demo, 'relay')))
  die(`Airlock is already running on ${shown}. Use that one, or stop it first (Ctrl-C in its terminal).`);
// AIRLOCK_SKIP_BUNDLE=1: the bundles are built already (npm test builds them first, and its
// other test files run them meanwhile).
if (process.env.AIRLOCK_SKIP_BUNDLE !== '1') await bundlePrograms();
else if (!existsSync(join(RENDERER_DIR, 'index.html')))
  die('AIRLOCK_SKIP_BUNDLE=1 but the programs are not built yet; run without it once.');
mkdirSync(connectHome, { recursive: true, mode: 0o700 });
let relay: Relay;
try {
  relay = await createRelay({
    // Metrics on a free loopback port: the demo shows them without claiming a well-known port.
    config: { host: '127.0.0.1', port: relayPort, dataDir: join(demo, 'relay'), metrics: { port: 0 } },
    logger: log,
  });
} catch (e) {
  const code = (e as NodeJS.ErrnoException).code;
  if (e instanceof DataDirInUseError)
    die(`Airlock is already running here: ${e.message}. Use that one, or stop it first (Ctrl-C in its terminal).`);
  if (code === 'EADDRINUSE') die(`port ${relayPort} is in use; stop what uses it or set AIRLOCK_RELAY_PORT.`);
  throw e;
}
await enrollDemoAgent(relay);
await alignDemoPorts(relay);
const agent = await startAgent(
  resolveAgentConfig({
    stateDir: agentState,
    policy: { allowedPorts: PORTS },
    logLevel: process.env.AIRLOCK_LOG_LEVEL ?? 'warn',
  }),
  // What `./airlock-agent status --state-dir .demo/agent` reads.
  { statusFile: join(agentState, STATUS_FILE) },
);
await agent.whenOnline(15_000);
const user = await demoUser(relay);
const app = await demoApp();
// Connect in browser mode for the demo user's home: a newcomer enrolls in the app.
const connect = new ConnectService({
  home: connectHome,
  log,
  secretCacheFor: (home, name) => new KeychainCache({ home, user: name }),
});
const ui = await startUiHost({
  api: { dispatch: createDispatch(connect), onEvent: (l) => connect.onEvent(l), log },
  staticDir: RENDERER_DIR,
});
const opened = await openInBrowser(ui.url, { home: connectHome, platform: nodePlatform() });
const uiLine = opened.opened
  ? `${ui.origin}   (opened in your browser; the address holds a one-time secret)`
  : `${ui.url}\n          (open it in a browser on this machine; it holds this launch's secret — do not share it)`;

const code = user.enrollCommand?.match(/(u1\.\S+)/)?.[1];
const next = user.enrollCommand
  ? `Enroll the demo user once, in the app above (paste the relay and this one-time code, choose a password,
scan the QR code with an authenticator app):
  relay ${relay.url}
  code  ${code}
or on the command line:
  export AIRLOCK_HOME=${connectHome}
  ./${user.enrollCommand.replace(/^airlock /, 'airlock ')}`
  : `The demo user is enrolled; log in, in the app above or on the command line (password + authenticator code):
  export AIRLOCK_HOME=${connectHome}
  ./airlock login`;
console.log(`
Airlock is running on this machine (Ctrl-C stops everything):
  relay   ${relay.url}   TLS pin ${curlPin(relay.tls.pin)}   (data in ${shown}/relay)
  agent   ${VM}  host key ${agent.hostKeyFingerprint}  (this machine plays the VM; ports ${PORTS.join(', ')})
  user    ${USER}  (Connect's files in ${shown}/connect)
  app     ${app ? `http://127.0.0.1:${DEMO_APP_PORT} inside the "VM"` : `port ${DEMO_APP_PORT} was busy, no demo page (set AIRLOCK_DEMO_APP_PORT)`}
  admin   ./airlock-relay --data-dir ${shown}/relay user list | session list | audit tail
  help    ./airlock-relay --data-dir ${shown}/relay explain ${USER} ${VM}   ./airlock-agent status --state-dir ${shown}/agent
  metrics ${relay.metricsUrl}/metrics
  connect ${uiLine}

${next}

Then:
  ./airlock vms
  ./airlock shell ${VM}
  ./airlock exec ${VM} -- uname -a
  ./airlock forward ${VM} ${DEMO_APP_PORT}:0     # prints a local port; curl http://127.0.0.1:<port>/
  sftp -D "./airlock sftp-stdio ${VM}"
`);

let stoppingSince: number | undefined;
/**
 * A Ctrl-C in a terminal reaches this task twice (from the terminal, and passed on by the npm
 * scripts' bootstrap): one request. Another one a second later, while a close hangs, stops at once.
 */
const REPEAT_IS_SAME_MS = 1000;
const stop = async (): Promise<void> => {
  if (stoppingSince !== undefined) {
    if (performance.now() - stoppingSince >= REPEAT_IS_SAME_MS) process.exit(1);
    return;
  }
  stoppingSince = performance.now();
  console.log('\nstopping… (Ctrl-C again to stop at once)');
  app?.close();
  // Each in turn (the relay last: it writes the sessions' close records), each even if one before
  // it failed — a failed close must not cost the relay its final audit checkpoint.
  let failed = false;
  for (const [name, part] of [
    ['ui', ui],
    ['connect', connect],
    ['agent', agent],
    ['relay', relay],
  ] as const) {
    await part.close().catch((error: unknown) => {
      failed = true;
      console.error(`stopping the ${name} failed: ${(error as Error).message}`);
    });
  }
  process.exit(failed ? 1 : 0);
};
// SIGHUP: the terminal closed; the relay still writes its last audit checkpoint.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop());
