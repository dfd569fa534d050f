// Bench child: a relay on a fresh data dir, with the bench VM, user and grant created through its
// admin service; prints one JSON line (URLs, TLS pin, the agent's token, the user's code) when ready.
import pino from 'pino';
import { createRelay } from '@airlock/relay';

const [dataDir, vm, user, portsArg] = process.argv.slice(2);
if (!dataDir || !vm || !user || !portsArg) throw new Error('usage: relay-process.ts <dataDir> <vm> <user> <ports>');
const ports = portsArg.split(',').map(Number);
const relay = await createRelay({ config: { host: '127.0.0.1', port: 0, dataDir }, logger: pino({ level: 'warn' }) });

const actor = 'cli:bench';
const createdVm = await relay.admin.createVm(actor, vm, ports);
if (!createdVm.ok) throw new Error(createdVm.error.message);
const createdUser = await relay.admin.createUser(actor, user);
if (!createdUser.ok) throw new Error(createdUser.error.message);
const granted = await relay.admin.putGrant(actor, { user, vm, ports });
if (!granted.ok) throw new Error(granted.error.message);

process.stdout.write(
  JSON.stringify({
    url: relay.url,
    wsUrl: relay.wsUrl,
    pin: relay.tls.pin,
    publicKeyPem: relay.publicKeyPem,
    agentToken: createdVm.value.agentEnrollment.token,
    userCode: createdUser.value.enrollment.code,
  }) + '\n',
);
process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
