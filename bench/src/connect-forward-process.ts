// Bench child: Connect's forward (core ForwardManager) straight to the relay-less agent, used for
// the no-relay path where there is no relay to ask for a session.
import { ForwardManager } from '@airlock/connect';
import { loadCredentials } from './bench-user.js';
import { connectDirect } from './direct-session.js';

const [url, pin, hostKey, home, portArg] = process.argv.slice(2);
if (!url || !pin || !hostKey || !home || !portArg)
  throw new Error('usage: connect-forward-process.ts <url> <pin> <hostKey> <home> <port>');
const port = Number(portArg);
const session = await connectDirect({ url, pin, hostKey }, await loadCredentials(home), [port]);
const forwards = new ForwardManager(session);
const f = await forwards.add(port, 0);
if (!f.ok) throw new Error(f.error.message);
process.stdout.write(JSON.stringify(f.value) + '\n');
process.on('SIGTERM', () => process.exit(0));
