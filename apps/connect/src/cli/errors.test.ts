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

test('an error quoting the far side is printed without its terminal escapes', () => {
  const line = formatCliError(
    new CliError('the relay closed the session: \x1b]52;c;ZXZpbA==\x07gone\r\nfake prompt$ '),
  );
  assert.equal(line, 'airlock: the relay closed the session: ]52;c;ZXZpbA==gone fake prompt$');
});
