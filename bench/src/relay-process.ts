// Bench child: a relay with a data dir prepared by the parent; prints one JSON line when ready.
import pino from 'pino';
import { createRelay } from '@airlock/relay';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: relay-process.ts <dataDir>');
const relay = await createRelay({ config: { host: '127.0.0.1', port: 0, dataDir }, logger: pino({ level: 'warn' }) });
process.stdout.write(JSON.stringify({ url: relay.url, wsUrl: relay.wsUrl, publicKeyPem: relay.publicKeyPem }) + '\n');
process.on('SIGTERM', () => void relay.close().then(() => process.exit(0)));
