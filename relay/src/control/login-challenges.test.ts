import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginChallenges } from './login-challenges.js';

test('challenges expire', () => {
  let now = 1_000_000;
  const c = new LoginChallenges(60_000, 100, () => now);
  const { nonce, expiresAt } = c.issue('alice');
  assert.equal(expiresAt.getTime(), now + 60_000);
  now += 60_001;
  assert.equal(c.consume(nonce, 'alice'), 'expired');
  assert.equal(c.consume(nonce, 'alice'), 'unknown');
});

test('challenges are single-use and bound to the user', () => {
  const c = new LoginChallenges(60_000, 100);
  const a = c.issue('alice').nonce;
  assert.equal(c.consume(a, 'bob'), 'wrong_user');
  assert.equal(c.consume(a, 'alice'), 'unknown');
  const b = c.issue('alice').nonce;
  assert.equal(c.consume(b, 'alice'), 'ok');
  assert.equal(c.consume(b, 'alice'), 'unknown');
});

test('outstanding challenges are bounded', () => {
  let now = 0;
  const c = new LoginChallenges(60_000, 10, () => now);
  const first = c.issue('alice').nonce;
  for (let i = 0; i < 50; i++) c.issue('mallory');
  assert.equal(c.size, 10);
  assert.equal(c.consume(first, 'alice'), 'unknown');
  now += 120_000;
  c.issue('alice');
  assert.equal(c.size, 1);
});
