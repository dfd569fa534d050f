import assert from 'node:assert/strict';
import { access, chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startFakeRelay, totpFor, type FakeRelay } from '../core/test-support/fake-relay.js';
import { airlock, airlockOnPty, type PtyRun } from './test-support/run-airlock.js';

// `airlock enroll` and `airlock login` driven as a person would: on a real pseudo-terminal,
// typing the password twice and the authenticator code computed from the secret the relay sent.

const TIMEOUT = { timeout: 60_000 };
const PASSWORD = 'a long enough password';

let relay: FakeRelay;
let home: string;
const running = new Set<PtyRun>();

before(async () => {
  relay = await startFakeRelay({ ports: [8888], maxEnrollFailures: 3 });
  home = await mkdtemp(join(tmpdir(), 'airlock-enroll-'));
});
after(async () => {
  for (const r of running) r.kill();
  await relay.close();
  await rm(home, { recursive: true, force: true });
});

function onPty(dir: string, args: string[]): PtyRun {
  const run = airlockOnPty(dir, args);
  running.add(run);
  void run.exit.then(() => running.delete(run));
  return run;
}

const code = (user: string) => totpFor(relay.totpSecret(user)!).generate();
const wrong = (right: string) => String((Number(right) + 500_000) % 1_000_000).padStart(6, '0');
const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function choosePassword(run: PtyRun): Promise<void> {
  await run.expect(/New password: /);
  run.line(PASSWORD);
  await run.expect(/Repeat the new password: /);
  run.line(PASSWORD);
}

test('enroll on a terminal: password twice, QR and secret shown, a wrong code asked again', TIMEOUT, async () => {
  const run = onPty(home, ['enroll', relay.url, relay.enrollmentCode('alice'), '--device-name', 'test laptop']);
  await run.expect(/Enrolling this device \("test laptop"\) with https:\/\/127\.0\.0\.1:\d+\./);
  await choosePassword(run);
  const shown = await run.expect(/Code from your authenticator app, to confirm: /);
  const secret = relay.totpSecret('alice')!;
  assert.match(shown, /Scan this QR code with your authenticator app/);
  assert.match(shown, /[▀▄█]/, 'a QR code drawn in the terminal');
  assert.ok(shown.replace(/\s/g, '').includes(secret), 'the secret, for typing by hand');
  assert.match(shown, /otpauth:\/\/totp\//);

  run.line(wrong(code('alice')));
  await run.expect(/the authenticator code is wrong; try again/);
  await run.expect(/Code from your authenticator app, to confirm: /);
  run.line(code('alice'));
  await run.expect(/enrolled this device \("test laptop", key SHA256:\S+\) as alice on https:\/\/127\.0\.0\.1:\d+/);
  assert.equal(await run.exit, 0, run.output);
  assert.doesNotMatch(run.output, new RegExp(PASSWORD), 'the password is never echoed');
  // A u1 code pins no organisation root: said once, after the enrollment.
  assert.match(run.output, /enrolled this device [^]*\n.*no organisation root pinned \(u1 enrollment\)/);
  assert.equal(run.output.split('no organisation root pinned').length, 2);

  const config = JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as Record<string, string>;
  assert.deepEqual(Object.keys(config).sort(), ['deviceId', 'relayPin', 'relayUrl', 'user']);
  assert.equal(config.relayPin, relay.pin);
  assert.equal(config.user, 'alice');
  assert.equal(relay.devices.get(config.deviceId!)?.user, 'alice');
  assert.equal((await stat(join(home, 'user-key.json'))).mode & 0o777, 0o600);
  assert.doesNotMatch(await readFile(join(home, 'user-key.json'), 'utf8'), /PRIVATE KEY/);

  const again = await airlock(home, ['enroll', relay.url, relay.enrollmentCode('alice')]);
  assert.equal(again.code, 255);
  assert.match(again.stderr, /already enrolled as alice on .* — use --force to replace it/);
});

test('login on a terminal: password and code; then commands run without asking', TIMEOUT, async () => {
  // A key file others may read is closed before it is used, and the person told.
  const keyFile = join(home, 'user-key.json');
  await chmod(keyFile, 0o644);
  const run = onPty(home, ['login']);
  await run.expect(/your key file \S+user-key\.json was readable by others \(mode 0644\); it is 0600 now/);
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  await run.expect(/Password for your Airlock key SHA256:\S+: /);
  run.line('not the password');
  await run.expect(/wrong password; try again/);
  await run.expect(/Password for your Airlock key/);
  run.line(PASSWORD);
  await run.expect(/Authenticator code: /);
  run.line(code('alice'));
  await run.expect(/logged in to https:\/\/127\.0\.0\.1:\d+ as alice \(until \S+\)/);
  assert.equal(await run.exit, 0, run.output);
  assert.equal(run.output.split('no organisation root pinned').length, 2, 'the trust notice, once');
  assert.equal((await stat(join(home, 'session.json'))).mode & 0o777, 0o600);

  const vms = await airlock(home, ['vms']);
  assert.equal(vms.code, 0, vms.stderr);
  assert.match(vms.stdout, /^VM\s+STATUS\s+PORTS\ndemo-vm\s+online\s+8888\n/);
});

test('an expired login on a terminal asks inline and carries on', TIMEOUT, async () => {
  const sessionPath = join(home, 'session.json');
  const session = JSON.parse(await readFile(sessionPath, 'utf8')) as Record<string, string>;
  await writeFile(sessionPath, JSON.stringify({ ...session, expiresAt: new Date(Date.now() - 1000).toISOString() }));
  const run = onPty(home, ['vms']);
  await run.expect(/your login expired; log in to continue/);
  await run.expect(/Password for your Airlock key/);
  run.line(PASSWORD);
  await run.expect(/Authenticator code: /);
  run.line(code('alice'));
  await run.expect(/demo-vm\s+online\s+8888/);
  assert.equal(await run.exit, 0, run.output);
  const renewed = JSON.parse(await readFile(sessionPath, 'utf8')) as Record<string, string>;
  assert.ok(Date.parse(renewed.expiresAt!) > Date.now());
});

test('too many wrong codes void the enrollment: clear error, no key left behind', TIMEOUT, async () => {
  const fresh = await mkdtemp(join(tmpdir(), 'airlock-enroll-void-'));
  try {
    const run = onPty(fresh, ['enroll', relay.url, relay.enrollmentCode('bob')]);
    await choosePassword(run);
    for (let i = 0; i < 3; i++) {
      await run.expect(/Code from your authenticator app, to confirm: /);
      run.line(wrong(code('bob')));
    }
    await run.expect(
      /airlock: the authenticator code is wrong; this enrollment is void — ask your admin for a new enrollment code/,
    );
    assert.equal(await run.exit, 255);
    assert.equal(await exists(join(fresh, 'user-key.json')), false);
    assert.equal(await exists(join(fresh, 'config.json')), false);
  } finally {
    await rm(fresh, { recursive: true, force: true });
  }
});

test('the code can stay out of argv: asked without echo, from --code-file, or from stdin', TIMEOUT, async () => {
  const asked = await mkdtemp(join(tmpdir(), 'airlock-enroll-ask-'));
  const fromFile = await mkdtemp(join(tmpdir(), 'airlock-enroll-file-'));
  try {
    const secretCode = relay.enrollmentCode('carol');
    const run = onPty(asked, ['enroll', relay.url, '--device-name', 'asked']);
    await run.expect(/One-time enrollment code from your admin \(u1\.…\): /);
    run.line(secretCode);
    await choosePassword(run);
    await run.expect(/Code from your authenticator app, to confirm: /);
    run.line(code('carol'));
    await run.expect(/enrolled this device \("asked", key SHA256:\S+\) as carol/);
    assert.equal(await run.exit, 0, run.output);
    assert.ok(!run.output.includes(secretCode), 'the code typed at the prompt is not echoed');

    const file = join(fromFile, 'code.txt');
    await writeFile(file, `\n${relay.enrollmentCode('dave')}\n`, { mode: 0o600 });
    const viaFile = onPty(fromFile, ['enroll', relay.url, '--code-file', file, '--device-name', 'file']);
    await choosePassword(viaFile);
    await viaFile.expect(/Code from your authenticator app, to confirm: /);
    viaFile.line(code('dave'));
    await viaFile.expect(/enrolled this device \("file", key SHA256:\S+\) as dave/);
    assert.equal(await viaFile.exit, 0, viaFile.output);

    // Without a terminal, stdin is read: what it holds decides the answer.
    const empty = await airlock(fromFile, ['enroll', relay.url], '');
    assert.equal(empty.code, 255);
    assert.match(empty.stderr, /no enrollment code in standard input — pass the code your admin gave you/);
    const junk = await airlock(fromFile, ['enroll', relay.url, '-'], 'not-a-code\n');
    assert.match(junk.stderr, /bad enrollment code/);
    const both = await airlock(fromFile, ['enroll', relay.url, 'u1.x.y', '--code-file', file]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /either as an argument or with --code-file, not both/);
    const missing = await airlock(fromFile, ['enroll', relay.url, '--code-file', join(fromFile, 'nope')]);
    assert.match(missing.stderr, /cannot read the enrollment code from .*nope \(ENOENT\)/);
    // Read as stdin is: never past the bound, whatever the file (a device that never ends).
    const endless = await airlock(fromFile, ['enroll', relay.url, '--code-file', '/dev/zero']);
    assert.notEqual(endless.code, 0);
    assert.match(endless.stderr, /\/dev\/zero holds more than 4096 bytes: too long for the enrollment code/);
  } finally {
    await rm(asked, { recursive: true, force: true });
    await rm(fromFile, { recursive: true, force: true });
  }
});
