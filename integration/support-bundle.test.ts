/**
 * `airlock support-bundle` through the real CLI, after a real enrollment, login and session: the
 * archive carries what helpdesk needs (the doctor's report, versions, the config, the last log
 * lines, the recent sessions and how they ended), and none of the secrets this machine holds or
 * has seen — the live access token and the login's client key (session.json), the key file's
 * contents, the password and the authenticator's secret — even after they were put into the log
 * the bundle reads, through Connect's own logger and as raw lines a bug could have written. The
 * archive is unpacked by GNU tar and every extracted byte is scanned.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { createConnectLogger } from '@airlock/connect/core/logger';
import { DoctorReport } from '@airlock/connect/core/diagnostics/doctor-report';
import { startSystem, TEST_PASSWORD, type System } from './harness.js';

let sys: System;
let out: string;

before(async () => {
  sys = await startSystem();
  out = mkdtempSync(join(tmpdir(), 'airlock-bundle-'));
});

after(async () => {
  await sys?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

/** Every file under `dir`, as bytes. */
function filesUnder(dir: string): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found.set(path.slice(dir.length + 1), readFileSync(path));
  }
  return found;
}

/** A secret and the forms it could take in a file: as is, JSON-escaped, and each line of a PEM body. */
function formsOf(secret: string): string[] {
  const forms = new Set([secret, JSON.stringify(secret).slice(1, -1)]);
  if (secret.includes('PRIVATE KEY-----'))
    for (const line of secret.split('\n')) if (line.length >= 16 && !line.startsWith('-----')) forms.add(line);
  return [...forms];
}

test('the bundle carries the report, versions, config, logs and sessions, and none of the secrets', async () => {
  // A real session, so the bundle has one to list with how it ended.
  const exec = await sys.cli(['exec', sys.vm, '--', 'true']);
  assert.equal(exec.code, 0, exec.stderr);

  const session = JSON.parse(readFileSync(join(sys.home, 'session.json'), 'utf8')) as Record<string, string>;
  const keyFileText = readFileSync(join(sys.home, 'user-key.json'), 'utf8');
  const keyFile = JSON.parse(keyFileText) as {
    ciphertext: string;
    kdf: { salt: string };
    cipher: { iv: string; tag: string };
  };
  const db = new Database(join(sys.dir, 'relay', 'relay.db'), { readonly: true, fileMustExist: true });
  const { totp_secret: totpSecret } = db.prepare('SELECT totp_secret FROM users WHERE name = ?').get(sys.user) as {
    totp_secret: string;
  };
  db.close();
  const secrets: Record<string, string> = {
    'access token': session.accessToken!,
    'client certificate key': session.clientKeyPem!,
    'key file': keyFileText,
    'key file ciphertext': keyFile.ciphertext,
    'key file salt': keyFile.kdf.salt,
    'key file iv': keyFile.cipher.iv,
    'key file tag': keyFile.cipher.tag,
    password: TEST_PASSWORD,
    'TOTP secret': totpSecret,
  };
  for (const [what, value] of Object.entries(secrets)) assert.ok(value && value.length >= 16, `${what} is real`);
  const totpUri = `otpauth://totp/Airlock:${sys.user}?secret=${totpSecret}&issuer=Airlock`;
  const grouped = totpSecret.match(/.{1,4}/g)!.join(' ');

  // The secrets in the log the bundle reads: through Connect's own logger (its redaction)…
  const logs = join(sys.home, 'logs');
  const { log } = createConnectLogger({ folder: logs, fileLevel: 'debug' });
  log.warn(
    {
      accessToken: session.accessToken,
      clientKeyPem: session.clientKeyPem,
      password: TEST_PASSWORD,
      totpSecret,
      totpUri,
      request: { params: { password: TEST_PASSWORD } },
    },
    'a line that should never have been written',
  );
  // …and as raw lines a bug or an older Connect could have left, secrets under any key or none.
  const raw = [
    { level: 30, msg: 'relay call', headers: { authorization: `Bearer ${session.accessToken}` } },
    { level: 30, msg: `login saved ${session.accessToken} for later` },
    { level: 30, msg: `client key: ${session.clientKeyPem}` },
    { level: 30, msg: 'key file read', content: keyFileText },
    { level: 30, msg: `key file was ${keyFileText}` },
    {
      level: 30,
      msg: 'enroll.setPassword',
      request: { params: { enrollmentId: 'e1', password: TEST_PASSWORD, repeat: TEST_PASSWORD } },
    },
    { level: 30, msg: `scan this: ${totpUri}` },
    { level: 30, msg: `type this secret into your app: ${totpSecret}` },
    { level: 30, msg: `or grouped: ${grouped}` },
  ];
  appendFileSync(join(logs, 'connect.log'), raw.map((l) => JSON.stringify(l)).join('\n') + '\n');
  appendFileSync(join(logs, 'connect.log'), `not JSON: ${session.accessToken} ${keyFile.ciphertext}\n`);

  const file = join(out, 'bundle.tar.gz');
  const r = await sys.cli(['support-bundle', file], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^wrote .*bundle\.tar\.gz \(\d+ KiB\): README\.txt, doctor\.txt, doctor\.json, system\.json/);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the archive is for its owner only');

  const extracted = join(out, 'x');
  mkdirSync(extracted);
  execFileSync('tar', ['-xzf', file, '-C', extracted]);
  const [folder] = readdirSync(extracted);
  assert.match(folder ?? '', /^airlock-support-\d{4}-\d\d-\d\dT/);
  const files = filesUnder(join(extracted, folder!));
  assert.deepEqual([...files.keys()].sort(), [
    'README.txt',
    'config.json',
    'doctor.json',
    'doctor.txt',
    'logs/connect.log',
    'sessions.json',
    'system.json',
  ]);

  // What helpdesk needs is there…
  const text = (name: string) => files.get(name)!.toString('utf8');
  const report = DoctorReport.parse(JSON.parse(text('doctor.json')));
  assert.equal(report.ok, true, text('doctor.txt'));
  assert.equal(report.login?.user, sys.user);
  assert.match(text('doctor.txt'), /^airlock doctor — Connect /);
  const system = JSON.parse(text('system.json')) as { node: string; os: { platform: string } };
  assert.equal(system.node, process.versions.node);
  assert.equal(system.os.platform, process.platform);
  const config = JSON.parse(text('config.json')) as {
    config: { user: string; relayUrl: string };
    files: Record<string, { present: boolean; mode?: string; fingerprint?: string }>;
  };
  assert.equal(config.config.user, sys.user);
  assert.equal(config.config.relayUrl, sys.relay.url);
  assert.deepEqual(config.files['session.json']?.mode, '0600');
  assert.match(config.files['user-key.json']?.fingerprint ?? '', /^SHA256:/);
  const sessions = JSON.parse(text('sessions.json')) as Array<{
    sid: string;
    vm: string;
    purpose?: string;
    outcome: string;
  }>;
  const execSession = sessions.find((s) => s.purpose === 'exec');
  assert.ok(execSession, `the exec session is listed: ${text('sessions.json')}`);
  assert.equal(execSession.vm, sys.vm);
  assert.equal(execSession.outcome, 'closed');
  for (const sid of report.sessionIds)
    assert.ok(
      sessions.some((s) => s.sid === sid),
      `the doctor's ${sid} is listed`,
    );
  const logText = text('logs/connect.log');
  assert.match(logText, /"msg":"a line that should never have been written"/);
  assert.match(logText, /"sid":"[0-9a-f-]{36}"/, 'log lines of a session carry its id');
  assert.ok(logText.split('\n').filter((l) => l.includes('[redacted]')).length >= raw.length, logText);

  // …and no secret, in any form, anywhere in the extracted bytes.
  for (const [name, bytes] of files)
    for (const [what, secret] of Object.entries(secrets))
      for (const form of formsOf(secret))
        assert.ok(!bytes.includes(form), `${name} holds the ${what}${form === secret ? '' : ` (${form})`}`);
  const all = Buffer.concat([...files.values()]).toString('utf8');
  assert.ok(!all.includes(grouped), 'the TOTP secret in groups of four');
  assert.ok(!/otpauth:\/\//.test(all), 'no otpauth URI');
  assert.ok(!/BEGIN [A-Z ]*PRIVATE KEY/.test(all), 'no private key');
});

test('an existing file is not overwritten, and says so', async () => {
  const file = join(out, 'taken.tar.gz');
  appendFileSync(file, 'mine\n');
  const r = await sys.cli(['support-bundle', file], { timeoutMs: 90_000 });
  assert.equal(r.code, 255);
  assert.match(r.stderr, /taken\.tar\.gz already exists; nothing was written/);
  assert.equal(readFileSync(file, 'utf8'), 'mine\n');
});
