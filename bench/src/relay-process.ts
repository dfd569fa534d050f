// Bench child: a relay on a fresh data dir, with the bench VM, user and grant created through its
// admin service; prints one JSON line (URLs, TLS pin, the agent's token, the user's code) when ready.
// BENCH_RELAY_CONFIG (JSON) adds relay configuration (the load run raises its limits with it);
// BENCH_AGENT_CREDENTIAL=1 trades the agent's one-time token here and prints the credential
// instead, for a run that plays the agent itself (bench/src/load.ts).
import pino from 'pino';
import { createRelay } from '@airlock/relay';
import { parseOneTimeCode } from '@airlock/shared';
import { jsonObjectSetting, orExit } from './settings.js';

const [dataDir, vm, user, portsArg] = process.argv.slice(2);
if (!dataDir || !vm || !user || !portsArg) throw new Error('usage: relay-process.ts <dataDir> <vm> <user> <ports>');
const ports = portsArg.split(',').map(Number);
const extra = orExit('bench relay', jsonObjectSetting('BENCH_RELAY_CONFIG', process.env.BENCH_RELAY_CONFIG));
const relay = await createRelay({
  config: { host: '127.0.0.1', port: 0, dataDir, ...extra },
  // Logs to stderr: stdout carries the one JSON line the bench reads (the relay warns at start when it runs without an organisation root).
  logger: pino({ level: 'warn' }, pino.destination(2)),
});

const actor = 'cli:bench';
const createdVm = await relay.admin.createVm(actor, vm, ports);
if (!createdVm.ok) throw new Error(createdVm.error.message);
const createdUser = await relay.admin.createUser(actor, user);
if (!createdUser.ok) throw new Error(createdUser.error.message);
const granted = await relay.admin.putGrant(actor, { user, vm, ports });
if (!granted.ok) throw new Error(granted.error.message);

let agent: { agentToken: string } | { agentCredential: string } = { agentToken: createdVm.value.agentEnrollment.token };
if (process.env.BENCH_AGENT_CREDENTIAL === '1') {
  const token = parseOneTimeCode(createdVm.value.agentEnrollment.token, 'agent');
  if (!token.ok) throw new Error(token.message);
  const exchanged = await relay.admin.exchangeAgentToken(token.value.secret);
  if (!exchanged.ok) throw new Error(exchanged.message);
  agent = { agentCredential: exchanged.credential };
}

process.stdout.write(
  JSON.stringify({
    url: relay.url,
    wsUrl: relay.wsUrl,
    pin: relay.tls.pin,
    publicKeyPem: relay.publicKeyPem,
    ...agent,
    userCode: createdUser.value.enrollment.code,
  }) + '\n',
);
process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
// The load run asks for the relay's memory by kind (V8 heap, buffers, the rest is native: TLS, SQLite).
process.on('SIGUSR2', () => process.stderr.write(`memory ${JSON.stringify(process.memoryUsage())}\n`));
