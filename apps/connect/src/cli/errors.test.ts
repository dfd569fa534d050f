import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError, formatCliError } from './errors.js';

test('an error line gives the advice once, even when the relay message already carries it', () => {
  assert.equal(
    formatCliError(new CliError('user "bob" is disabled; ask your admin', 'ask your admin')),
    'airlock: user "bob" is disabled; ask your admin',
  );
  assert.equal(
    formatCliError(new CliError('this device was revoked', 'ask your admin')),
    'airlock: this device was revoked — ask your admin',
  );
  assert.equal(formatCliError(new CliError('cancelled')), 'airlock: cancelled');
});
