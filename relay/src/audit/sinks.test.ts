import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { AuditLog } from './audit-log.js';
import { SinkPusher } from './sink-pusher.js';
import { AuditSinkConfig, FileSink, HttpSink, createSinks, type AuditSink } from './sinks.js';
import { sampleEvent } from './test-support/memory-audit-store.js';
import { silentLogger, sqliteFixture } from './test-support/fixtures.js';
import type { AuditEntry, AuditStore } from '../store/types.js';

const WAIT_MS = 10_000;

/** Resolves with the first `event` payload matching `pred`; rejects after WAIT_MS. */
function waitFor<T>(pusher: SinkPusher, event: string, pred: (p: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pusher.off(event, on);
      reject(new Error(`no matching "${event}" within ${WAIT_MS} ms`));
    }, WAIT_MS);
    function on(p: T) {
      if (!pred(p)) return;
      clearTimeout(timer);
      pusher.off(event, on);
      resolve(p);
    }
    pusher.on(event, on);
  });
}

async function listen(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0) {
  const server: Server = createServer(handler);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { server, port: (server.address() as AddressInfo).port };
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function readJson(req: IncomingMessage): Promise<AuditEntry[]> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as AuditEntry[];
}

async function appendN(store: AuditStore, from: number, to: number): Promise<void> {
  for (let i = from; i <= to; i++) await store.append(sampleEvent(i));
}

function pusherFor(store: AuditStore, sinks: AuditSink[], idlePollMs = 3_600_000): SinkPusher {
  return new SinkPusher({ store, sinks, logger: silentLogger, initialBackoffMs: 20, maxBackoffMs: 100, idlePollMs });
}

test('HTTP sink down at first (connection refused), then up: every entry in order, cursor persisted, resumes after restart', async (t) => {
  const fx = await sqliteFixture(t);
  await appendN(fx.store.audit, 1, 1200);
  const port = await freePort();
  const sink = new HttpSink(`http://127.0.0.1:${port}/audit`, { headers: { authorization: 'Bearer s3cret' } });
  const pusher = pusherFor(fx.store.audit, [sink]);
  t.after(() => pusher.close());
  const refused = waitFor<{ error: string }>(pusher, 'failed');
  pusher.start();
  await refused;
  assert.equal(pusher.status()[0]!.down, true);
  assert.equal(await fx.store.audit.getCursor(sink.name), 0);

  const batches: AuditEntry[][] = [];
  const headers: [string | undefined, string | undefined][] = [];
  let failOnce = true;
  await listen(
    t,
    (req, res) =>
      void readJson(req).then((batch) => {
        headers.push([req.headers.authorization, req.headers['content-type']]);
        batches.push(batch);
        // The second batch is refused once: it must come again, from the same start.
        const status = batch[0]!.seq === 501 && failOnce ? 503 : 204;
        if (status === 503) failOnce = false;
        res.writeHead(status).end();
      }),
    port,
  );
  await waitFor<{ toSeq: number }>(pusher, 'delivered', (p) => p.toSeq === 1200);
  assert.ok(headers.every(([auth, type]) => auth === 'Bearer s3cret' && type === 'application/json'));
  assert.ok(batches.every((b) => b.length <= 500));
  assert.deepEqual(
    batches.map((b) => [b[0]!.seq, b.at(-1)!.seq]),
    [
      [1, 500],
      [501, 1000],
      [501, 1000],
      [1001, 1200],
    ],
  );
  const accepted = batches.filter((_, i) => i !== 1).flat();
  assert.deepEqual(
    accepted.map((e) => e.seq),
    Array.from({ length: 1200 }, (_, i) => i + 1),
  );
  assert.deepEqual(accepted, await fx.store.audit.range(0, 2000));
  await pusher.close();
  assert.equal(await fx.reopen().audit.getCursor(sink.name), 1200, 'the cursor is in the database');

  // A restart resumes after the cursor.
  await appendN(fx.store.audit, 1201, 1210);
  batches.length = 0;
  const again = pusherFor(fx.store.audit, [sink]);
  t.after(() => again.close());
  again.start();
  await waitFor<{ toSeq: number }>(again, 'delivered', (p) => p.toSeq === 1210);
  assert.deepEqual(
    batches.map((b) => b.map((e) => e.seq)),
    [[1201, 1202, 1203, 1204, 1205, 1206, 1207, 1208, 1209, 1210]],
  );
});

test('a hanging sink does not hold up record: 200 events all return while it hangs', async (t) => {
  const fx = await sqliteFixture(t);
  let requests = 0;
  let gotRequest: () => void = () => undefined;
  const firstRequest = new Promise<void>((r) => (gotRequest = r));
  const { port } = await listen(t, () => {
    requests++;
    gotRequest(); // and never answer
  });
  const log = await AuditLog.open({ store: fx.store.audit, dataDir: fx.dataDir, logger: silentLogger });
  const pusher = pusherFor(fx.store.audit, [new HttpSink(`http://127.0.0.1:${port}/`)]);
  log.onAppended(() => pusher.wake());
  pusher.start();
  await log.record(sampleEvent(0));
  await firstRequest;

  const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.record(sampleEvent(i + 1))));
  assert.equal(results.filter((e) => e !== undefined).length, 200);
  assert.equal(requests, 1, 'the sink was still hanging on its first batch');
  assert.equal(pusher.status()[0]!.cursor, 0);
  await pusher.close(); // aborts the hanging request
  await log.close();
});

test('a new entry wakes an idle pusher at once (no waiting for the idle poll)', async (t) => {
  const fx = await sqliteFixture(t);
  const path = join(fx.dataDir, 'sink', 'audit-sink.jsonl');
  const log = await AuditLog.open({ store: fx.store.audit, logger: silentLogger });
  const pusher = pusherFor(fx.store.audit, [new FileSink(path)]);
  t.after(() => pusher.close());
  log.onAppended(() => pusher.wake());
  pusher.start();
  const delivered = waitFor<{ toSeq: number }>(pusher, 'delivered', (p) => p.toSeq === 1);
  await log.record(sampleEvent(1));
  await delivered;
});

test('FileSink appends JSON lines (0600); a failing target is retried until it works', async (t) => {
  const fx = await sqliteFixture(t);
  await appendN(fx.store.audit, 1, 7);
  const dir = join(fx.dataDir, 'sink');
  await writeFile(dir, 'not a directory'); // the target's folder cannot be created yet
  const path = join(dir, 'audit-sink.jsonl');
  const sink = new FileSink(path);
  const pusher = pusherFor(fx.store.audit, [sink]);
  t.after(() => pusher.close());
  const failed = waitFor(pusher, 'failed');
  pusher.start();
  await failed;
  await rm(dir);
  // The sink's own retry may create the folder first, now that nothing is in the way.
  await mkdir(dir, { recursive: true });
  await waitFor<{ toSeq: number }>(pusher, 'delivered', (p) => p.toSeq === 7);
  const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l) as AuditEntry),
    await fx.store.audit.range(0, 100),
  );
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal(await fx.store.audit.getCursor(sink.name), 7);
});

test('sink config: http and file targets validate; bad ones are refused with the field named', () => {
  const ok = [
    { type: 'http', url: 'https://siem.example/ingest', headers: { authorization: 'Bearer x' } },
    { type: 'file', path: 'audit-sink.jsonl', name: 'local' },
  ];
  const parsed = ok.map((c) => AuditSinkConfig.parse(c));
  const sinks = createSinks(parsed, '/var/lib/airlock');
  assert.deepEqual(
    sinks.map((s) => s.name),
    ['http:https://siem.example/ingest', 'local'],
  );
  assert.equal((sinks[1] as FileSink).path, '/var/lib/airlock/audit-sink.jsonl');

  for (const bad of [
    { type: 'http', url: 'ftp://x/' },
    { type: 'http', url: 'not a url' },
    { type: 'file' },
    { type: 'syslog', host: 'x' },
    { type: 'file', path: 'x', extra: 1 },
  ])
    assert.equal(AuditSinkConfig.safeParse(bad).success, false, JSON.stringify(bad));
  assert.throws(() => createSinks(AuditSinkConfig.array().parse([ok[1], ok[1]]), '/d'), /share the name/);
  // A user name or password in the URL is refused, saying where credentials go: fetch would refuse
  // the URL with an error that quotes it, password and all, into the relay's log.
  for (const url of ['https://audit:s3cret@siem.example/in', 'https://token@siem.example/in']) {
    const r = AuditSinkConfig.safeParse({ type: 'http', url });
    assert.equal(r.success, false, url);
    assert.match(r.error!.issues[0]!.message, /must not carry a user name or password: put credentials in headers/);
    assert.throws(() => new HttpSink(url), /must not carry a user name or password/);
  }
  // A query string (which may carry a token) never reaches the cursor name (which is logged).
  assert.equal(new HttpSink('https://siem.example/in?token=t').name, 'http:https://siem.example/in');
});
