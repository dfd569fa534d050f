// Test child for process-guards.test.ts. `continue` / `exit`: two sessions; session "bad" leaks a
// rejection and throws from a timer, session "good" keeps ticking. `deferred`: promises made in one
// context and rejected in another. Prints one JSON line per event.
import { installProcessGuards } from '../process-guards.js';
import { runInSession } from '../session-context.js';

const say = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
const mode = process.argv[2];
const onUncaught = mode === 'exit' ? { exit: 70 } : ('continue' as const);
installProcessGuards({
  report: (e) => say({ report: e.kind, sid: e.sid, message: (e.error as Error).message }),
  onUncaughtException: onUncaught,
});

if (mode === 'deferred') deferredRejections();
else twoSessions();

function twoSessions(): void {
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
}

/**
 * Promises made in one context and rejected in another: which session the guard blames depends on
 * how AsyncLocalStorage is carried (async hooks: where the promise was made; V8's context frames:
 * where it was rejected).
 */
function deferredRejections(): void {
  const bad = { sid: 'bad', abort: (reason: string) => say({ aborted: 'bad', reason }) };
  let rejectMadeInBad: (e: Error) => void = () => {};
  runInSession(bad, () => {
    void new Promise<never>((_, reject) => (rejectMadeInBad = reject));
  });
  let rejectMadeOutside: (e: Error) => void = () => {};
  void new Promise<never>((_, reject) => (rejectMadeOutside = reject));
  // A timer set outside any session, as the control link's callbacks are.
  setTimeout(() => rejectMadeInBad(new Error('made in bad, rejected outside')), 10);
  setTimeout(() => runInSession(bad, () => rejectMadeOutside(new Error('made outside, rejected in bad'))), 30);
  setTimeout(() => say({ done: true }), 60);
}
