/**
 * Child process for the concurrency test: opens the store at argv[2], says "ready", waits for a
 * line on stdin, appends argv[3] entries as actor argv[4], says "done".
 */
import { once } from 'node:events';
import { openSqliteStore } from '../sqlite-store.js';

const [path, countText, actor] = process.argv.slice(2);
if (!path || !countText || !actor) throw new Error('usage: append-audit <db> <count> <actor>');
const store = openSqliteStore(path);
process.stdout.write('ready\n');
await once(process.stdin, 'data');
for (let i = 0; i < Number(countText); i++) {
  await store.audit.append({ type: 'test.append', actor, outcome: 'info', data: { i } });
  // A turn of the event loop between appends, as the parent does: neither finishes in one burst.
  await new Promise((resolve) => setImmediate(resolve));
}
await store.close();
process.stdout.write('done\n');
process.stdin.destroy();
