// Token lifetime and brute force, through the real CLI against a real relay.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { TestClock } from '@airlock/shared/testing';
import { startSystem, type System } from './harness.js';
import { relayCli } from './support/relay-cli.js';

let sys: System;
// The relay's clock: the token's expiry is reached by moving it, not by waiting for it.
const relayClock = new TestClock();
before(async () => {
  sys = await startSystem({
    relayNow: relayClock.nowMs,
    ports: [40021],
    noAgent: true,
    relayConfig: { accessTokenTtlSeconds: 10, loginMaxFailuresPerUser: 3 },
  });
});
after(async () => {
  await sys?.close();
});

test('an expired access token is refused, and the CLI says to log in again', async () => {
  const fresh = await sys.cli(['vms', '--json']);
  assert.equal(fresh.code, 0, fresh.stderr);
  const expiresAt = Date.parse(JSON.parse(await readSession()).expiresAt as string);
  // The relay tolerates 5 s of clock difference on token expiry.
  relayClock.advance(Math.max(0, expiresAt - relayClock.nowMs()) + 6500);
  // The relay refuses it, not just Connect's own clock check.
  const direct = await sys.api('GET', '/vms');
  assert.equal(direct.status, 401);
  assert.equal(direct.body.error.code, 'token_expired');
  // With nobody to ask (no terminal, no askpass), the CLI says what to do.
  const stale = await sys.cli(['vms'], { env: { AIRLOCK_ASKPASS: '' } });
  assert.equal(stale.code, 255);
  assert.match(stale.stderr, /expired/);
  assert.match(stale.stderr, /airlock login/);
  // With someone to ask, it asks for the password and a code again and carries on.
  const renewed = await sys.cli(['vms', '--json']);
  assert.equal(renewed.code, 0, renewed.stderr);
  const again = await sys.api('GET', '/vms');
  assert.equal(again.status, 200, 'a new token, bound to a new certificate, is saved');
});

test('guessing TOTP codes locks the account; the right code is then refused with a clear message', async () => {
  // One `airlock login` asks for a code up to three times; all three are wrong.
  const guessing = await sys.cli(['login'], { env: { AIRLOCK_TEST_TOTP_OVERRIDE: '000000' } });
  assert.equal(guessing.code, 255, guessing.stderr);
  const failures = await sys.relay.store.audit.query({ type: 'login.failure', actor: 'user:alice' });
  assert.equal(
    failures.filter((e) => e.data.reason === 'totp wrong_code').length,
    3,
    JSON.stringify(failures.map((e) => e.data)),
  );
  assert.ok(failures.some((e) => e.data.lockout === 'started'));
  // Now even the right code is refused, with a message that says why and for how long.
  const locked = await sys.cli(['login']);
  assert.equal(locked.code, 255);
  assert.match(locked.stderr, /too many failed logins for "alice"; the account is locked for 15 min/);
  const after = await sys.relay.store.audit.query({ type: 'login.failure', actor: 'user:alice' });
  assert.ok(after.some((e) => e.data.reason === 'locked out'));
});

test('an admin unlocks the account with airlock-relay (another process); the running relay honours it at once', async () => {
  const dataDir = join(sys.dir, 'relay');
  const listed = await relayCli(dataDir, ['user', 'list', '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const alice = (JSON.parse(listed.stdout) as { name: string; lockedUntil?: string }[]).find((u) => u.name === 'alice');
  assert.ok(alice?.lockedUntil, 'user list shows the lock');
  const unlock = await relayCli(dataDir, ['user', 'unlock', 'alice']);
  assert.equal(unlock.code, 0, unlock.stderr);
  assert.match(unlock.stdout, /user "alice" unlocked; they can log in again now/);
  const login = await sys.cli(['login']);
  assert.equal(login.code, 0, login.stderr);
  const [entry] = await sys.relay.store.audit.query({ type: 'admin.user.unlock', descending: true, limit: 1 });
  assert.equal(entry?.outcome, 'success');
  assert.match(entry?.actor ?? '', /^cli:/);
  assert.equal(entry?.data.wasLocked, true);
});

async function readSession(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  return readFile(join(sys.home, 'session.json'), 'utf8');
}
