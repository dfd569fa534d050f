// Bench child: Connect's forward (core ForwardManager) over a session given on the command line,
// used for the no-relay path where there is no relay to ask for a session.
import { randomUUID } from 'node:crypto';
import { ForwardManager, UserKeyStore, airlockPaths, connectVmSession } from '@airlock/connect';
import { sshFingerprintB64 } from '@airlock/shared';

const [url, hostKey, home, portArg] = process.argv.slice(2);
if (!url || !hostKey || !home || !portArg)
  throw new Error('usage: connect-forward-process.ts <url> <hostKey> <home> <port>');
const port = Number(portArg);
const key = await new UserKeyStore(airlockPaths(home)).load();
if (!key.ok) throw new Error(key.error.message);
const session = await connectVmSession({
  relayUrl: url,
  session: {
    sessionId: randomUUID(),
    vm: 'bench-vm',
    ticket: 'unused-without-relay',
    hostKey,
    hostKeyFingerprint: sshFingerprintB64(hostKey),
    ports: [port],
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
  },
  user: 'bench',
  userKey: key.value,
});
if (!session.ok) throw new Error(session.error.message);
const forwards = new ForwardManager(session.value);
const f = await forwards.add(port, 0);
if (!f.ok) throw new Error(f.error.message);
process.stdout.write(JSON.stringify(f.value) + '\n');
process.on('SIGTERM', () => process.exit(0));
