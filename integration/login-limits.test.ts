// Token lifetime and brute force, through the real CLI against a real relay.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSystem, type System } from './harness.js';

let sys: System;
before(async () => {
  sys = await startSystem({
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
  await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 1500));
  const stale = await sys.cli(['vms']);
  assert.equal(stale.code, 255);
  assert.match(stale.stderr, /expired/);
  assert.match(stale.stderr, /airlock login/);
  // The relay refuses it too, not just Connect's own clock check.
  const direct = await sys.api('GET', '/vms');
  assert.equal(direct.status, 401);
  assert.equal(direct.body.error.code, 'token_expired');
});

test('guessing TOTP codes locks the account; the right code is then refused with a clear message', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await sys.cli(['login'], { env: { AIRLOCK_TEST_TOTP_OVERRIDE: '000000' } });
    assert.equal(r.code, 255, `attempt ${i + 1}: ${r.stderr}`);
    assert.match(r.stderr, /authenticator code is wrong/);
  }
  const locked = await sys.cli(['login']);
  assert.equal(locked.code, 255);
  assert.match(locked.stderr, /too many failed logins/);
  const audit = await sys.relay.store.audit.query({ type: 'login.failure', actor: 'user:alice' });
  assert.ok(audit.some((e) => e.data.reason === 'totp wrong_code'));
  assert.ok(audit.some((e) => e.data.reason === 'locked out'));
});

async function readSession(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  return readFile(join(sys.home, 'session.json'), 'utf8');
}
