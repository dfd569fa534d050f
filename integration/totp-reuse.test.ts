// Logging in twice within one authenticator step, as a newcomer does: the second login meets a
// used code. That is not a guess: it must not count towards the lockout, and Connect waits for
// the next code instead of sending the used one again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSystem, type System } from './harness.js';

let sys: System;
before(async () => {
  sys = await startSystem({ ports: [40031], noAgent: true, relayConfig: { loginMaxFailuresPerUser: 2 } });
});
after(async () => {
  await sys?.close();
});

test('a second login within the same TOTP step waits for the next code; no failure is counted', async () => {
  const naive = { env: { AIRLOCK_TEST_TOTP_NAIVE: '1' }, timeoutMs: 90_000 };
  // Start just after a step begins, so both logins surely fall into the same step.
  const intoStep = Date.now() % 30_000;
  if (intoStep > 20_000) await new Promise((r) => setTimeout(r, 30_000 - intoStep + 200));
  const first = await sys.cli(['login'], naive);
  assert.equal(first.code, 0, first.stderr);
  const reusedSoFar = await reusedCount();
  const second = await sys.cli(['login'], naive);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /that authenticator code was already used; wait for the next code/);
  assert.match(second.stderr, /that code was already used; waiting \d+ s for the next one/);
  // Each used code reached the relay once: one refusal, audited, and not a lockout step.
  assert.equal(await reusedCount(), reusedSoFar + 1);
  const failures = await sys.relay.store.audit.query({ type: 'login.failure', actor: 'user:alice' });
  assert.ok(!failures.some((e) => e.data.lockout), 'a reused code never starts a lockout');
  const third = await sys.cli(['vms']);
  assert.equal(third.code, 0, third.stderr);
});

async function reusedCount(): Promise<number> {
  const failures = await sys.relay.store.audit.query({ type: 'login.failure', actor: 'user:alice' });
  return failures.filter((e) => e.data.reason === 'totp reused_code').length;
}
