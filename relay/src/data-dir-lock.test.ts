import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { mintServerCertificate } from '@airlock/shared';
import { freePort } from '@airlock/shared/testing';
import { DataDirInUseError, LOCK_FILE, dataDirInUse, lockDataDir } from './data-dir-lock.js';
import { createRelayLogger } from './logger.js';
import { createRelay } from './relay.js';
import { SERVED_AT_FILE } from './served-at.js';
import { exited, relayProcess, run, serve } from './test-support/relay-process.js';

function tlsConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

async function tmpDataDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-lock-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('one holder at a time: a second lock is refused until the first is released', async (t) => {
  const dir = await tmpDataDir(t);
  assert.equal(dataDirInUse(dir), false, 'no lock file yet');
  const lock = lockDataDir(dir);
  assert.equal((await stat(join(dir, LOCK_FILE))).mode & 0o777, 0o600);
  assert.equal(dataDirInUse(dir), true);
  assert.throws(() => lockDataDir(dir), DataDirInUseError);
  assert.equal(dataDirInUse(dir), true, 'probing does not take the lock away');
  lock.release();
  assert.equal(dataDirInUse(dir), false);
  lockDataDir(dir).release();
});

test('a second relay on the same data dir is refused, naming the process and URL of the first', async (t) => {
  const dir = await tmpDataDir(t);
  const logger = createRelayLogger('silent');
  const first = await createRelay({ config: { port: 0, dataDir: dir }, logger });
  t.after(() => first.close());
  const served = JSON.parse(await readFile(join(dir, SERVED_AT_FILE), 'utf8')) as Record<string, unknown>;
  assert.equal(served.pid, process.pid);
  assert.equal(served.url, first.url);
  const second = await createRelay({ config: { port: 0, dataDir: dir }, logger }).then(
    () => assert.fail('a second relay started'),
    (e: unknown) => e,
  );
  assert.ok(second instanceof DataDirInUseError);
  assert.equal(second.message, `the data dir ${dir} is in use by relay process ${process.pid}, serving ${first.url}`);
  await first.close();
  const next = await createRelay({ config: { port: 0, dataDir: dir }, logger });
  await next.close();
});

test('a relay that cannot listen lets go of the data dir', async (t) => {
  const dir = await tmpDataDir(t);
  const logger = createRelayLogger('silent');
  const holder = await createRelay({ config: { port: 0 }, logger });
  t.after(() => holder.close());
  await assert.rejects(createRelay({ config: { port: holder.port, dataDir: dir }, logger }), { code: 'EADDRINUSE' });
  assert.equal(dataDirInUse(dir), false);
  await (await createRelay({ config: { port: 0, dataDir: dir }, logger })).close();
});

test('a relay whose start fails after it listened closes its port and lets go of the data dir', async (t) => {
  const dir = await tmpDataDir(t);
  const logger = createRelayLogger('silent');
  // Writing served-at.json comes after the listener is up; a directory in its place makes it fail.
  await mkdir(join(dir, SERVED_AT_FILE));
  const port = await freePort();
  await assert.rejects(createRelay({ config: { port, dataDir: dir }, logger }), { code: 'EISDIR' });
  assert.equal(dataDirInUse(dir), false);
  await assert.rejects(tlsConnect(port), { code: 'ECONNREFUSED' });
  await rm(join(dir, SERVED_AT_FILE), { recursive: true });
  // The same port and data dir at once: nothing of the failed start holds either.
  await (await createRelay({ config: { port, dataDir: dir }, logger })).close();
});

test('real processes: serve whose start fails after it listened exits 1 saying why, instead of hanging', async (t) => {
  const dir = await tmpDataDir(t);
  await mkdir(join(dir, SERVED_AT_FILE));
  const child = relayProcess(dir, ['serve', '--port', '0', '--log-level', 'warn']);
  t.after(() => void child.kill('SIGKILL'));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited(child);
  clearTimeout(timer);
  assert.equal(code, 1, child.stderrText());
  assert.match(child.stderrText(), /^error: .*EISDIR/m);
  assert.doesNotMatch(child.stderrText(), /\n\s+at /, 'no stack trace');
});

test('real processes: serve with a TLS key OpenSSL refuses exits 1 at once naming it, even with audit sinks; the next serve starts', async (t) => {
  const dir = await tmpDataDir(t);
  const keyPem = generateKeyPairSync('rsa', { modulusLength: 512 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const weak = await mintServerCertificate({ commonName: 'relay', keyPem });
  await writeFile(join(dir, 'weak-cert.pem'), weak.certPem);
  await writeFile(join(dir, 'weak-key.pem'), weak.keyPem, { mode: 0o600 });
  // An audit sink keeps timers running: a start that failed after opening it used to hang here.
  await writeFile(join(dir, 'relay.json'), JSON.stringify({ auditSinks: [{ type: 'file', path: 'sink.jsonl' }] }));
  const child = relayProcess(dir, [
    'serve',
    '--port',
    '0',
    '--config',
    join(dir, 'relay.json'),
    '--tls-cert',
    join(dir, 'weak-cert.pem'),
    '--tls-key',
    join(dir, 'weak-key.pem'),
  ]);
  t.after(() => void child.kill('SIGKILL'));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited(child);
  clearTimeout(timer);
  assert.equal(code, 1, child.stderrText());
  assert.match(child.stderrText(), /^error: OpenSSL refuses the certificate in .*weak-cert\.pem .*key too small/m);
  assert.doesNotMatch(child.stderrText(), /\n\s+at /, 'no stack trace');
  const next = await serve(t, dir);
  next.child.kill('SIGTERM');
  assert.equal(await exited(next.child), 0);
});

function curl(args: string[]): Promise<{ code: number | null; stdout: string }> {
  const child = spawn('curl', ['--silent', '--max-time', '10', ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout })));
}

test('real processes: the second relay says who holds the data dir; the admin CLI works alongside; a killed relay leaves no stale lock', async (t) => {
  const dir = await tmpDataDir(t);
  const first = await serve(t, dir);

  // The pin as printed is what curl takes; the stored single-slash form is not (curl error 90).
  assert.match(first.pin, /^sha256\/\/[A-Za-z0-9+/]{43}=$/);
  const ok = await curl(['--pinnedpubkey', first.pin, '-k', `${first.url}/healthz`]);
  assert.equal(ok.code, 0);
  assert.equal(JSON.parse(ok.stdout).status, 'ok');
  assert.equal((await curl(['--pinnedpubkey', first.pin.replace('//', '/'), '-k', `${first.url}/healthz`])).code, 90);
  const otherPin = `sha256//${Buffer.alloc(32, 1).toString('base64')}`;
  assert.equal((await curl(['--pinnedpubkey', otherPin, '-k', `${first.url}/healthz`])).code, 90, 'a wrong pin');

  const second = relayProcess(dir, ['serve', '--port', '0']);
  assert.equal(await exited(second), 1);
  assert.match(
    second.stderrText(),
    new RegExp(
      `^error: the data dir ${dir} is in use by relay process ${first.child.pid}, serving ${first.url}\\nhint: one relay per data dir`,
      'm',
    ),
  );

  const add = await run(dir, ['user', 'add', 'bob']);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, new RegExp(`airlock enroll ${first.url} u1\\.`));
  assert.doesNotMatch(add.stderr, /note:/, 'the relay is running: nothing to warn about');

  first.child.kill('SIGKILL');
  await exited(first.child);
  const stale = await run(dir, ['user', 'add', 'carol']);
  assert.equal(stale.code, 0, stale.stderr);
  assert.match(
    stale.stderr,
    new RegExp(`note: no relay is running on ${dir}; the code names ${first.url}, where it last served`),
  );

  // The kernel dropped the killed relay's lock: the next one starts at once.
  const third = await serve(t, dir);
  third.child.kill('SIGTERM');
  assert.equal(await exited(third.child), 0);
});

test('real processes: two relays started at the same moment on a fresh data dir — exactly one runs', async (t) => {
  const dir = await tmpDataDir(t);
  const a = relayProcess(dir, ['serve', '--port', '0', '--log-level', 'warn']);
  const b = relayProcess(dir, ['serve', '--port', '0', '--log-level', 'warn']);
  t.after(() => {
    a.kill('SIGKILL');
    b.kill('SIGKILL');
  });
  const deadline = Date.now() + 30_000;
  const state = (c: typeof a) =>
    c.exitCode !== null ? 'exited' : /listening on/.test(c.stderrText()) ? 'listening' : 'starting';
  while ([state(a), state(b)].includes('starting')) {
    if (Date.now() > deadline) throw new Error(`still starting:\n${a.stderrText()}\n${b.stderrText()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const states = [state(a), state(b)].sort();
  assert.deepEqual(states, ['exited', 'listening'], `${a.stderrText()}\n---\n${b.stderrText()}`);
  const loser = state(a) === 'exited' ? a : b;
  assert.equal(loser.exitCode, 1);
  assert.match(loser.stderrText(), /^error: the data dir .* is in use by /m);
});

test('real processes: a relay stopped on its first log line still closes gracefully (exit 0)', async (t) => {
  const dir = await tmpDataDir(t);
  const child = relayProcess(dir, ['serve', '--port', '0']);
  t.after(() => void child.kill('SIGKILL'));
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const deadline = Date.now() + 30_000;
  // On a fresh data dir the first line says it made its signing key: the relay is mid-start.
  while (!stdout.includes('\n') && child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 5));
  assert.match(stdout, /^\{.*"msg":"created a new relay signing key"/);
  // Before its signal handlers came first, this SIGTERM killed it (exit by signal, code null).
  child.kill('SIGTERM');
  assert.equal(await exited(child), 0, child.stderrText());
});
