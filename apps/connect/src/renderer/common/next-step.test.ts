import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApiFailure } from '../../api/contract/index.js';
import { nextStepText, sentence, withoutLoginAdvice } from './next-step.js';

const failure = (code: string, action: ApiFailure['action'], message: string) =>
  ({ code, action, message }) as ApiFailure;

test("the relay's closing advice to log in is dropped where the app gives its own", () => {
  const refused = failure('unauthenticated', 'log_in', 'access token rejected (bad signature; kid x); log in again');
  assert.equal(nextStepText(refused), 'Log in.');
  assert.equal(sentence(withoutLoginAdvice(refused)), 'Access token rejected (bad signature; kid x).');
  const other = failure(
    'certificate_mismatch',
    'log_in',
    'this access token is bound to another client certificate; log in again from this machine',
  );
  assert.equal(withoutLoginAdvice(other), 'this access token is bound to another client certificate');
  assert.equal(withoutLoginAdvice(failure('x', 'log_in', 'missing token; log in first')), 'missing token');
});

test('other messages are left whole, even with "log in" in them', () => {
  const asAdmin = failure('revoked', 'ask_admin', 'your access was revoked; log in again will not help');
  assert.equal(withoutLoginAdvice(asAdmin), asAdmin.message);
  const noAdvice = failure('login_required', 'log_in', 'the relay no longer accepts your login');
  assert.equal(withoutLoginAdvice(noAdvice), noAdvice.message);
  const inTheMiddle = failure('x', 'log_in', 'log in again; then retry');
  assert.equal(withoutLoginAdvice(inTheMiddle), inTheMiddle.message);
});
