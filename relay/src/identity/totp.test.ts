import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchTotpStep, newTotpSecret, totpCodeAt, totpUri } from './totp.js';

test('a code matches its own step and the neighbouring steps, not further', () => {
  const secret = newTotpSecret();
  const t = 1_700_000_000_000;
  const step = Math.floor(t / 30_000);
  assert.equal(matchTotpStep(secret, totpCodeAt(secret, t), t), step);
  assert.equal(matchTotpStep(secret, totpCodeAt(secret, t - 30_000), t), step - 1);
  assert.equal(matchTotpStep(secret, totpCodeAt(secret, t + 30_000), t), step + 1);
  assert.equal(matchTotpStep(secret, totpCodeAt(secret, t - 90_000), t), undefined);
  assert.equal(matchTotpStep(newTotpSecret(), totpCodeAt(secret, t), t), undefined);
});

test('the otpauth URI carries issuer, account and secret', () => {
  const secret = newTotpSecret();
  const uri = totpUri(secret, 'alice@relay.example');
  assert.match(uri, /^otpauth:\/\/totp\/Airlock:alice%40relay\.example\?/);
  assert.ok(uri.includes(`secret=${secret}`));
});
