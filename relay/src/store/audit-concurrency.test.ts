import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GENESIS_HASH, entryHash } from '../audit/chain.js';
import { openSqliteStore } from './sqlite-store.js';
import { tmpDb } from './test-support/tmp-store.js';
import type { AuditEntry, RelayStore } from './types.js';

/** Checks seq 1..n, prevHash links and each hash; returns the entries. */
async function assertUnbrokenChain(store: RelayStore, expected: number): Promise<AuditEntry[]> {
  const entries = await store.audit.range(0, expected + 10);
  assert.equal(entries.length, expected);
  entries.forEach((e, i) => {
    assert.equal(e.seq, i + 1);
    assert.equal(e.prevHash, i === 0 ? GENESIS_HASH : entries[i - 1]!.hash, `prevHash of ${e.seq}`);
    const { hash, ...rest } = e;
    assert.equal(hash, entryHash(rest), `hash of ${e.seq}`);
  });
  return entries;
}

/** How often the actor changes along the chain: > 1 means the writers really interleaved. */
function actorSwitches(entries: AuditEntry[]): number {
  return entries.filter((e, i) => i > 0 && e.actor !== entries[i - 1]!.actor).length;
}

test('two store instances on one file appending interleaved build one chain', async (t) => {
  const { path } = await tmpDb(t);
  const a = openSqliteStore(path);
  const b = openSqliteStore(path);
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const appends: Promise<AuditEntry>[] = [];
  for (let i = 0; i < 50; i++) {
    appends.push(a.audit.append({ type: 'test.a', actor: 'a', outcome: 'info', data: { i } }));
    appends.push(b.audit.append({ type: 'test.b', actor: 'b', outcome: 'info', data: { i } }));
  }
  const returned = await Promise.all(appends);
  assert.deepEqual(
    returned.map((e) => e.seq),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  const entries = await assertUnbrokenChain(a, 100);
  assert.deepEqual(entries, returned);
  assert.equal(actorSwitches(entries), 99);
  assert.deepEqual(await b.audit.last(), entries[99]);
});

test('a child process and this one appending at the same time build one unbroken chain of 400', async (t) => {
  const { path } = await tmpDb(t);
  const store = openSqliteStore(path);
  t.after(() => store.close());

  const script = fileURLToPath(new URL('./test-support/append-audit.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, path, '200', 'child'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill();
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string | undefined> => {
    const timeout = AbortSignal.timeout(20_000);
    const r = await Promise.race([
      lines.next(),
      once(timeout, 'abort').then(() => {
        throw new Error('child did not answer within 20 s');
      }),
    ]);
    return r.done ? undefined : r.value;
  };

  assert.equal(await nextLine(), 'ready');
  child.stdin.write('go\n');
  // Begin once the child's first entry is in, so the two really write at the same time on a busy
  // machine too (a child slow to wake once saw all 200 of ours land first).
  const deadline = Date.now() + 20_000;
  while (!(await store.audit.range(0, 1000)).some((e) => e.actor === 'child')) {
    assert.ok(Date.now() < deadline, 'the child wrote nothing within 20 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (let i = 0; i < 200; i++) {
    await store.audit.append({ type: 'test.append', actor: 'parent', outcome: 'info', data: { i } });
    // Let the child's appends land between ours rather than after a 200-entry burst.
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(await nextLine(), 'done');
  const [code] = await exited;
  assert.equal(code, 0);

  const entries = await assertUnbrokenChain(store, 400);
  assert.equal(entries.filter((e) => e.actor === 'parent').length, 200);
  assert.equal(entries.filter((e) => e.actor === 'child').length, 200);
  for (const actor of ['parent', 'child']) {
    assert.deepEqual(
      entries.filter((e) => e.actor === actor).map((e) => e.data.i),
      Array.from({ length: 200 }, (_, i) => i),
      `${actor}'s entries in its own order`,
    );
  }
  t.diagnostic(`actor switches along the chain: ${actorSwitches(entries)}`);
  assert.ok(actorSwitches(entries) > 1, 'the two processes interleaved');
});
