import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseOneTimeCode, spkiPin } from '@airlock/shared';
import { openSqliteStore } from '../store/sqlite-store.js';
import { addDevice, cliIn } from './test-support.js';

const here = dirname(fileURLToPath(import.meta.url));

test('user add prints an enroll command whose code carries the pin of the relay certificate it minted', async (t) => {
  const { dir, run, json } = await cliIn(t, { AIRLOCK_RELAY_PUBLIC_URL: 'https://relay.example.org:7443' });
  const add = await run('user', 'add', 'bob');
  assert.equal(add.code, 0, add.err);
  const command = /^ {2}(airlock enroll https:\/\/relay\.example\.org:7443 (u1\.\S+))$/m.exec(add.out);
  assert.ok(command, add.out);
  assert.match(add.err, /minted the relay's TLS certificate/);
  const certPem = await readFile(join(dir, 'tls', 'relay-cert.pem'), 'utf8');
  const parsed = parseOneTimeCode(command[2]!, 'user');
  assert.ok(parsed.ok);
  assert.equal(parsed.value.pin, spkiPin(certPem));

  const tls = await json('tls', 'show');
  assert.equal(tls.pin, spkiPin(certPem));
  assert.match(tls.names, /relay\.example\.org/);
  const tlsText = await run('tls', 'show');
  assert.match(tlsText.out, /^pin: +sha256\//);

  const users = await json('user', 'list');
  assert.deepEqual(
    users.map((u: { name: string; status: string; devices: number }) => [u.name, u.status, u.devices]),
    [['bob', 'active', 0]],
  );
  const more = await json('user', 'enroll-code', 'bob');
  assert.match(more.enrollment.code, /^u1\./);
  assert.ok((await json('user', 'disable', 'bob')).user.status === 'disabled');
  const refused = await run('user', 'enroll-code', 'bob');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /^error: user "bob" is disabled; enable the user first\nhint: /);
  assert.equal((await run('user', 'enable', 'bob')).code, 0);

  // Every change is in the audit log as cli:tester, and readable through `audit query`.
  const audit = await run('audit', 'query', '--actor', 'cli:tester', '--json');
  assert.equal(audit.code, 0, audit.err);
  const types = audit.out.split('\n').map((l) => JSON.parse(l).type);
  assert.deepEqual(types, [
    'admin.user.create',
    'admin.enrollment_code.create',
    'admin.user.disable',
    'admin.enrollment_code.create',
    'admin.user.enable',
  ]);
  assert.ok(!audit.out.includes(parsed.value.secret));
});

test('vm, grant, device, session and client commands over one SQLite file', async (t) => {
  const { dir, run, json } = await cliIn(t);
  const vm = await json('vm', 'add', 'vm1', '--ports', '22,8888');
  assert.match(vm.agentEnrollment.token, /^a1\./);
  assert.match(vm.agentEnrollment.command, /^airlock-agent enroll https:\/\/127\.0\.0\.1:7443 a1\./);
  assert.deepEqual(
    (await json('vm', 'list')).map((v: { id: string; ports: number[] }) => [v.id, v.ports]),
    [['vm1', [22, 8888]]],
  );
  assert.deepEqual((await json('vm', 'set-ports', 'vm1', '--ports', '22')).vm.ports, [22]);
  assert.match((await json('vm', 'new-token', 'vm1')).agentEnrollment.token, /^a1\./);
  assert.deepEqual(await json('vm', 'credentials', 'vm1'), []);

  await json('user', 'add', 'bob');
  const wide = await run('grant', 'add', 'bob', 'vm1', '--ports', '22,8888');
  assert.equal(wide.code, 1);
  assert.match(wide.err, /^error: ports: 8888 not allowed on VM "vm1"/);
  const grant = await json('grant', 'add', 'bob', 'vm1', '--expires', '8h');
  assert.ok(Date.parse(grant.grant.expiresAt) > Date.now() + 7.9 * 3600_000);
  const text = await run('grant', 'list');
  assert.match(text.out, /^USER +VM +PORTS +EXPIRES +ACTIVE\nbob +vm1 +all /);

  // A device and a live session, as the relay would have recorded them.
  const store = openSqliteStore(join(dir, 'relay.db'));
  const dev = await addDevice(store, 'bob');
  const sid = randomUUID();
  await store.sessions.create({ id: sid, user: 'bob', device: dev.id, vm: 'vm1', ports: [22] });
  await store.close();
  assert.deepEqual(
    (await json('device', 'list', '--user', 'bob')).map((d: { id: string }) => d.id),
    [dev.id],
  );
  assert.deepEqual(
    (await json('session', 'list')).map((s: { id: string }) => s.id),
    [sid],
  );
  const kill = await run('session', 'kill', sid);
  assert.equal(kill.code, 0, kill.err);
  assert.match(kill.out, /is being closed/);
  const again = await run('session', 'kill', randomUUID());
  assert.equal(again.code, 1);
  assert.match(again.err, /^error: no session/);
  const revoked = await json('device', 'revoke', dev.id);
  assert.equal(revoked.changed, true);
  assert.equal((await run('grant', 'remove', 'bob', 'vm1')).code, 0);
  assert.equal((await run('grant', 'remove', 'bob', 'vm1')).code, 1);
  assert.equal((await json('user', 'revoke', 'bob')).user.status, 'disabled');

  const client = await json('client', 'add', 'provisioning', '--scopes', 'users.read,vms.write');
  assert.match(client.client.clientId, /^ac_/);
  assert.match(client.clientSecret, /^[A-Za-z0-9_-]{43}$/);
  const listed = await run('client', 'list');
  assert.ok(listed.out.includes(client.client.clientId));
  assert.ok(!listed.out.includes(client.clientSecret), 'the secret is shown once');
  assert.equal((await run('client', 'revoke', client.client.clientId)).code, 0);
  assert.ok((await json('client', 'list'))[0].revokedAt);
});

test('usage errors exit 2, refusals exit 1, both without a stack trace', async (t) => {
  const { run } = await cliIn(t);
  const cases: [string[], number, RegExp][] = [
    [['vm', 'add', 'vm1', '--ports', '22,abc'], 2, /ports/],
    [['vm', 'add', 'Bad_VM', '--ports', '22'], 2, /lowercase/],
    [['user', 'add', 'Bad Name'], 2, /lowercase/],
    [['client', 'add', 'x', '--scopes', 'root'], 2, /unknown scope root/],
    [['grant', 'add', 'bob', 'vm1', '--expires', 'soon'], 2, /duration/],
    [['user', 'frobnicate'], 2, /unknown command/],
    [['user', 'list'], 1, /^error: no relay store at .*relay\.db\nhint: /],
    // Codes must name a URL Connect and the agent accept: TLS, no password, no query.
    [['--relay-url', 'http://relay.example.org', 'user', 'add', 'bob'], 2, /^error: --relay-url: .*TLS only/],
    [['--relay-url', 'https://u:pw@relay.example.org/?x', 'vm', 'add', 'vm2'], 2, /without credentials, query/],
  ];
  for (const [args, code, pattern] of cases) {
    const r = await run(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, pattern, args.join(' '));
    assert.ok(!r.err.includes('    at '), 'no stack trace');
  }
  await run('vm', 'add', 'vm1', '--ports', '22');
  const dup = await run('vm', 'add', 'vm1', '--ports', '22');
  assert.equal(dup.code, 1);
  assert.match(dup.err, /^error: VM "?vm1"? already exists\nhint: /);
  const nobody = await run('grant', 'add', 'nobody', 'vm1');
  assert.equal(nobody.code, 1);
  assert.match(nobody.err, /no user "nobody"/);
});

test('a store this user cannot open is not called missing: the error names it and says whose it is', async (t) => {
  const { dir, run } = await cliIn(t);
  // A symlink loop stands in for a store of another user (root passes every permission check).
  await symlink(join(dir, 'relay.db'), join(dir, 'relay.db'));
  for (const args of [
    ['user', 'list'],
    ['audit', 'verify'],
  ]) {
    const r = await run(...args);
    assert.equal(r.code, 1, r.err);
    assert.match(
      r.err,
      /^error: cannot open the relay store .*relay\.db \(ELOOP\)\nhint: run this as the user that owns/,
    );
    assert.doesNotMatch(r.err, /no relay store|create something first/);
  }
});

test('the airlock-relay binary: exit codes and output as a real process', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-relay-bin-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const bin = (...args: string[]) =>
    spawnSync(process.execPath, [join(here, '..', '..', 'bin', 'airlock-relay.js'), '--data-dir', dir, ...args], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, USER: 'opsperson' },
    });
  const add = bin('vm', 'add', 'vm1', '--ports', '22', '--json');
  assert.equal(add.status, 0, add.stderr);
  assert.match(JSON.parse(add.stdout).agentEnrollment.token, /^a1\./);
  const dup = bin('vm', 'add', 'vm1', '--ports', '22');
  assert.equal(dup.status, 1);
  assert.match(dup.stderr, /^error: VM "?vm1"? already exists\nhint: /);
  const usage = bin('vm', 'add', 'vm2', '--ports', '22,http');
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /expected a comma-separated list of ports/);
  const audit = bin('audit', 'query', '--type', 'admin.vm.create', '--json');
  assert.equal(audit.status, 0, audit.stderr);
  const entries = audit.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    entries.map((e) => [e.outcome, e.actor.startsWith('cli:')]),
    [
      ['success', true],
      ['failure', true],
    ],
  );
  const verify = bin('audit', 'verify');
  assert.equal(verify.status, 0, verify.stderr);
});

test('codes name the URL and certificate the relay last served this data dir with', async (t) => {
  const { run, dir } = await cliIn(t);
  const { createRelay } = await import('../relay.js');
  const { createRelayLogger } = await import('../logger.js');
  const relay = await createRelay({
    config: { port: 0, dataDir: dir, publicUrl: 'https://relay.example.org:7443' },
    logger: createRelayLogger('silent'),
  });
  t.after(() => relay.close());
  const added = await run('user', 'add', 'una', '--json');
  assert.equal(added.code, 0, added.err);
  const { enrollment } = JSON.parse(added.out) as { enrollment: { code: string; command: string } };
  assert.match(enrollment.command, /^airlock enroll https:\/\/relay\.example\.org:7443 u1\./);
  const code = parseOneTimeCode(enrollment.code, 'user');
  assert.ok(code.ok);
  assert.equal(code.value.pin, relay.tls.pin);
});

test('an admin command on a data dir open to others makes it 0700 and says so', async (t) => {
  const { run, dir } = await cliIn(t);
  assert.equal((await run('vm', 'add', 'vm1', '--ports', '22')).code, 0);
  const { chmod, stat } = await import('node:fs/promises');
  await chmod(dir, 0o755);
  const list = await run('vm', 'list');
  assert.equal(list.code, 0, list.err);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.match(
    list.err,
    new RegExp(`^note: ${dir} was open to group or others \\(mode 0755\\); changed its mode to 0700$`, 'm'),
  );
  await chmod(dir, 0o750);
  const audit = await run('audit', 'verify');
  assert.equal(audit.code, 0, audit.err);
  assert.equal((await stat(dir)).mode & 0o777, 0o700, 'the audit commands too');
  assert.doesNotMatch((await run('vm', 'list')).err, /note:/, 'a private dir is left alone, silently');
});

test('a relay.db that is no database is named, with what to do', async (t) => {
  const { dir, run } = await cliIn(t);
  await writeFile(join(dir, 'relay.db'), 'garbage, not SQLite, long enough to have a header\n'.repeat(4));
  for (const args of [
    ['user', 'list'],
    ['audit', 'verify'],
  ]) {
    const r = await run(...args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.err, /relay\.db is not a readable relay store \(file is not a database\)/);
    assert.match(r.err, /restore relay\.db from a backup, or point --data-dir/);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
});

test('source unlock: an address (an IPv6 one with its /64) or all, for the running relay to apply; anything else is a usage error', async (t) => {
  const { dir, run, json } = await cliIn(t);
  await run('user', 'add', 'alice');
  const v4 = await run('source', 'unlock', '203.0.113.7');
  assert.equal(v4.code, 0, v4.err);
  assert.equal(v4.out, '203.0.113.7 unlocked (the running relay applies it within a second)');
  assert.deepEqual(await json('source', 'unlock', '2001:db8:0:1:aaaa::7'), {
    source: '2001:db8:0:1:aaaa::7',
    network: '2001:db8:0:1::/64',
    every: false,
  });
  assert.equal((await json('source', 'unlock', '::FFFF:CB00:7107')).network, '203.0.113.7');
  assert.equal((await json('source', 'unlock', 'fe80::1%eth0')).network, 'fe80:0:0:0::/64');
  assert.equal((await json('source', 'unlock', '2001:db8:0:1::/64')).network, '2001:db8:0:1::/64');
  assert.equal(
    (await run('source', 'unlock', 'all')).out,
    'every source address unlocked (the running relay applies it within a second)',
  );
  for (const bad of ['lab-gateway', '203.0.113.256', '', 'shared', '203.0.113.0/24']) {
    const r = await run('source', 'unlock', bad);
    assert.equal(r.code, 2, bad);
    assert.match(r.err, /must be an IP address, as the audit log names the source, or "all"/);
    assert.ok(!r.err.includes('    at '), 'no stack trace');
  }
  const store = openSqliteStore(join(dir, 'relay.db'));
  t.after(() => store.close());
  assert.deepEqual(
    (await store.sourceReleases.after(0)).map((r) => r.network),
    ['203.0.113.7', '2001:db8:0:1::/64', '203.0.113.7', 'fe80:0:0:0::/64', '2001:db8:0:1::/64', '*'],
  );
  const audited = await store.audit.query({ type: 'admin.source.unlock' });
  assert.deepEqual(
    audited.map((e) => [e.actor, e.outcome, e.data.source]),
    [
      ['cli:tester', 'success', '203.0.113.7'],
      ['cli:tester', 'success', '2001:db8:0:1:aaaa::7'],
      ['cli:tester', 'success', '::FFFF:CB00:7107'],
      ['cli:tester', 'success', 'fe80::1%eth0'],
      ['cli:tester', 'success', '2001:db8:0:1::/64'],
      ['cli:tester', 'success', 'all'],
    ],
  );
});
