import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  deriveCodeSecrets,
  formatOneTimeCode,
  formatOrgCode,
  newCodeKey,
  parseOneTimeCode,
} from './enrollment-code.js';
import { newSecret } from './secrets.js';

const PIN = `sha256/${Buffer.alloc(32, 7).toString('base64')}`;
const AFP = Buffer.alloc(32, 9).toString('base64url');

test('a v1 code carries the secret the relay checks and the pin', () => {
  const secret = newSecret();
  const parsed = parseOneTimeCode(formatOneTimeCode('user', secret, PIN), 'user');
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.value, { kind: 'user', secret, pin: PIN });
});

test('a v2 code pins the anchor and keeps the credential seed apart from what the relay is shown', () => {
  const key = newCodeKey();
  const code = formatOrgCode('agent', key, PIN, AFP);
  assert.match(code, /^a2\.[\w-]{43}\.[\w-]{43}\.[\w-]{43}$/);
  const parsed = parseOneTimeCode(code, 'agent');
  assert.ok(parsed.ok);
  const { relaySecret, credSeed } = deriveCodeSecrets(key);
  assert.equal(parsed.value.secret, relaySecret);
  assert.equal(parsed.value.pin, PIN);
  assert.equal(parsed.value.org?.afp, AFP);
  assert.ok(parsed.value.org?.credSeed.equals(credSeed));
  // Neither derived value is K, and they differ from each other.
  assert.notEqual(relaySecret, key);
  assert.notEqual(credSeed.toString('base64url'), relaySecret);
  assert.notEqual(credSeed.toString('base64url'), key);
});

test('codes of the other kind, other versions, and cut-off codes are refused with a reason', () => {
  const v2 = formatOrgCode('user', newCodeKey(), PIN, AFP);
  const msg = (code: string, kind: 'user' | 'agent') => {
    const r = parseOneTimeCode(code, kind);
    assert.equal(r.ok, false);
    return r.ok ? '' : r.message;
  };
  assert.match(msg(v2, 'agent'), /this is a user enrollment code, not an agent enrollment token/);
  assert.match(msg(v2.split('.').slice(0, 3).join('.'), 'user'), /not a complete Airlock enrollment code/);
  assert.match(msg(v2.replace(/^u2/, 'u3'), 'user'), /unknown code version "u3"; update Airlock/);
  assert.match(msg('hello', 'user'), /not an Airlock enrollment code/);
});
