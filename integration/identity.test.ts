// The identity chain across real programs: pinned TLS at enrollment, agent tokens, the admin
// API's scopes, revocation of a live session, and `airlock-relay audit verify` on the relay's
// real SQLite file. (The harness itself enrolls the agent and the user through the real CLIs.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import pino from 'pino';
import { fetch as undiciFetch } from 'undici';
import { createRelay, type Relay } from '@airlock/relay';
import { createPinnedDispatcher } from '@airlock/shared';
import { repoRoot, runCli, startSystem, waitFor, type System } from './harness.js';
import { relayCli } from './support/relay-cli.js';

let sys: System;
let impostor: Relay;
before(async () => {
  sys = await startSystem({ ports: [40011] });
  // Another relay with its own certificate: what an interception would look like to Connect.
  impostor = await createRelay({ config: { port: 0 }, logger: pino({ level: 'silent' }) });
});
after(async () => {
  await impostor?.close();
  await sys?.close();
});
const dataDir = () => join(sys.dir, 'relay');

test('the chain works: enrolled, logged in with TOTP, and a shell command runs', async () => {
  const r = await sys.cli(['exec', sys.vm, '--', 'echo', 'through-the-chain']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'through-the-chain\n');
  const keyFile = JSON.parse(readFileSync(join(sys.home, 'user-key.json'), 'utf8')) as { kdf: { name: string } };
  assert.equal(keyFile.kdf.name, 'scrypt', 'the user key is encrypted at rest');
  const types = (await sys.relay.store.audit.query({ limit: 1000 })).map((e) => e.type);
  for (const t of [
    'agent.enroll',
    'enroll.begin',
    'enroll.complete',
    'login.success',
    'session.authorize',
    'session.open',
  ])
    assert.ok(types.includes(t), `audit has ${t}`);
});

test('Connect refuses a relay whose certificate does not match the pin, before sending the code', async () => {
  const created = await sys.relay.admin.createUser('test', 'mallory-target');
  assert.ok(created.ok);
  const home = mkdtempSync(join(tmpdir(), 'airlock-pin-'));
  const r = await runCli(['enroll', impostor.url, created.value.enrollment.code], home, {
    env: { ...sys.cliEnv, AIRLOCK_HOME: home, AIRLOCK_TEST_USER: 'mallory-target' },
  });
  assert.equal(r.code, 255, r.stderr);
  assert.match(r.stderr, /pin/i);
  assert.equal((await impostor.store.audit.query({ type: 'enroll.begin' })).length, 0, 'the impostor saw no code');
  // An enrolled Connect pointed at the impostor refuses it the same way.
  const configPath = join(sys.home, 'config.json');
  const config = readFileSync(configPath, 'utf8');
  writeFileSync(configPath, config.replace(sys.relay.url, impostor.url));
  try {
    const vms = await sys.cli(['vms']);
    assert.equal(vms.code, 255);
    assert.match(vms.stderr, /pin/i);
  } finally {
    writeFileSync(configPath, config);
  }
});

test('an agent enrollment token works once', async () => {
  const created = await sys.relay.admin.createVm('test', 'second-vm', [22]);
  assert.ok(created.ok);
  const enroll = (stateDir: string) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(
        join(repoRoot, 'airlock-agent'),
        ['enroll', sys.relay.url, created.value.agentEnrollment.token, '--state-dir', stateDir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code: number | null) => resolve({ code, out }));
    });
  const first = await enroll(mkdtempSync(join(tmpdir(), 'airlock-agent-a-')));
  assert.equal(first.code, 0, first.out);
  const second = await enroll(mkdtempSync(join(tmpdir(), 'airlock-agent-b-')));
  assert.equal(second.code, 1, second.out);
  assert.match(second.out, /already used/);
  const refused = await sys.relay.store.audit.query({ type: 'agent.enroll', descending: true, limit: 1 });
  assert.equal(refused[0]?.outcome, 'failure');
});

test('an admin API client is held to its scopes, and its revocation is immediate', async () => {
  const added = await relayCli(dataDir(), ['client', 'add', 'reporting', '--scopes', 'users.read', '--json']);
  assert.equal(added.code, 0, added.stderr);
  const { client, clientSecret } = JSON.parse(added.stdout) as { client: { clientId: string }; clientSecret: string };
  const dispatcher = createPinnedDispatcher({ pin: sys.relay.tls.pin });
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await undiciFetch(`${sys.relay.url}/api/v1/admin${path}`, {
      method,
      dispatcher,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const token = await call('POST', '/token', undefined, {
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: clientSecret,
  });
  assert.equal(token.status, 200, JSON.stringify(token.body));
  const accessToken = token.body.access_token as string;
  assert.equal((await call('GET', '/users', accessToken)).status, 200);
  const denied = await call('POST', '/vms', accessToken, { id: 'not-allowed', ports: [22] });
  assert.equal(denied.status, 403);
  assert.match(JSON.stringify(denied.body), /vms\.write/);
  assert.equal(await sys.relay.store.vms.get('not-allowed'), undefined);
  const revoked = await relayCli(dataDir(), ['client', 'revoke', client.clientId]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal(
    (await call('GET', '/users', accessToken)).status,
    401,
    'the still-unexpired token dies with its client',
  );
});

test('revoking the user closes their live session within seconds and refuses the next login', async () => {
  const fwd = sys.spawnCli(['forward', sys.vm, '40011', '--json']);
  let out = '';
  let err = '';
  fwd.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  fwd.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(
    () => out.includes('\n') || fwd.exitCode !== null,
    20_000,
    () => `no forward: ${err}`,
  );
  const exited = once(fwd, 'exit');
  const revoked = await relayCli(dataDir(), ['user', 'revoke', 'alice']);
  assert.equal(revoked.code, 0, revoked.stderr);
  const started = Date.now();
  const [code] = (await exited) as [number];
  assert.equal(code, 255, err);
  assert.ok(Date.now() - started < 10_000, 'closed within seconds');
  assert.match(err, /disabled|revoked/);
  const login = await sys.cli(['login']);
  assert.equal(login.code, 255);
  assert.match(login.stderr, /disabled|revoked|login failed/);
});

test('audit verify passes on the real log, then names the first edited, deleted or reordered entry', async () => {
  await sys.relay.audit.checkpointer.checkpointNow();
  const ok = await relayCli(dataDir(), ['audit', 'verify']);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  assert.match(ok.stdout, /intact/);
  const db = join(dataDir(), 'relay.db');
  const tamper = async (sql: string) => {
    const copy = mkdtempSync(join(tmpdir(), 'airlock-tamper-'));
    copyFileSync(db, join(copy, 'relay.db'));
    copyFileSync(join(dataDir(), 'relay-signing-key.pub.pem'), join(copy, 'relay-signing-key.pub.pem'));
    const d = new Database(join(copy, 'relay.db'));
    d.pragma('foreign_keys = OFF');
    d.exec(sql);
    d.close();
    return relayCli(copy, ['audit', 'verify']);
  };
  // WAL: make sure the copy holds every entry.
  const live = new Database(db);
  live.pragma('wal_checkpoint(FULL)');
  live.close();
  const edited = await tamper(`UPDATE audit_events SET data = '{"reason":"nothing to see"}' WHERE seq = 3`);
  assert.equal(edited.code, 1, edited.stdout + edited.stderr);
  assert.match(edited.stdout + edited.stderr, /broken at entry 3/);
  const deleted = await tamper('DELETE FROM audit_events WHERE seq = 4');
  assert.equal(deleted.code, 1);
  assert.match(deleted.stdout + deleted.stderr, /broken at entry [45]/);
  const reordered = await tamper(
    'UPDATE audit_events SET seq = -5 WHERE seq = 5; UPDATE audit_events SET seq = 5 WHERE seq = 6; UPDATE audit_events SET seq = 6 WHERE seq = -5',
  );
  assert.equal(reordered.code, 1);
  assert.match(reordered.stdout + reordered.stderr, /broken at entry 5/);
});
