// Load child: the fake agent of `npm run load` (load-clients.ts), in a process of its own so that
// its data sockets and Connect's (in the load process) each stay under the open-files limit.
// Prints one JSON line when registered, then `joined <n>` as the sessions it joined grow.
import { IdleAgent } from './load-clients.js';

const relay = JSON.parse(process.argv[2] ?? '{}') as { wsUrl: string; pin: string; agentCredential: string };
const agent = await IdleAgent.connect(relay, (joined) => {
  if (joined % 100 === 0) process.stdout.write(`joined ${joined}\n`);
});
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
process.on('SIGTERM', () => {
  agent.close();
  process.exit(0);
});
