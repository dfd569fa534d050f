// Test child for process-guards.test.ts: two sessions; session "bad" leaks a rejection and throws
// from a timer, session "good" keeps ticking. Prints one JSON line per event.
import { installProcessGuards } from '../process-guards.js';
import { runInSession } from '../session-context.js';

const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const onUncaught = process.argv[2] === 'exit' ? { exit: 70 } : ('continue' as const);
installProcessGuards({
  report: (e) => say({ report: e.kind, sid: e.sid, message: (e.error as Error).message }),
  onUncaughtException: onUncaught,
});

let ticks = 0;
runInSession({ sid: 'good', abort: () => say({ aborted: 'good' }) }, () => {
  const t = setInterval(() => {
    if (++ticks === 10) {
      clearInterval(t);
      say({ done: ticks });
    }
  }, 20);
});
runInSession({ sid: 'bad', abort: (reason) => say({ aborted: 'bad', reason }) }, () => {
  void (async () => {
    await new Promise((r) => setTimeout(r, 10));
    throw new Error('forgot to await');
  })();
  setTimeout(() => {
    throw new Error('thrown from a callback');
  }, 30);
});
