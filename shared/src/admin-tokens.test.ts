import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { parseScopeString, scopeAllows } from './admin-schemas.js';
import { AdminTokenIssuer, AdminTokenVerifier } from './admin-tokens.js';
import { generateRelaySigningKey } from './signed-tokens.js';

const CLIENT = 'ac_AAAAAAAAAAAAAAAAAAAAAA';

test('an admin token verifies with its client id, scopes and expiry', async () => {
  const key = generateRelaySigningKey();
  const now = Date.parse('2030-01-01T00:00:00Z');
  const issued = await new AdminTokenIssuer(key.privateKey, () => now).issue(CLIENT, ['users.read', 'vms.write']);
  assert.equal(issued.expiresIn, 600);
  assert.equal(issued.scope, 'users.read vms.write');
  const r = await new AdminTokenVerifier(key.publicKey, () => now + 1000).verify(issued.token);
  assert.ok(r.ok);
  assert.deepEqual(r.value, {
    clientId: CLIENT,
    scopes: ['users.read', 'vms.write'],
    expiresAt: new Date(now + 600_000),
  });
});

test('refusals: expired, another key, another token type', async () => {
  const key = generateRelaySigningKey();
  const now = Date.now();
  const issued = await new AdminTokenIssuer(key.privateKey, () => now).issue(CLIENT, ['admin'], 60);
  const late = await new AdminTokenVerifier(key.publicKey, () => now + 66_000).verify(issued.token);
  assert.deepEqual(!late.ok && late.error.code, 'expired');
  const other = await new AdminTokenVerifier(generateRelaySigningKey().publicKey).verify(issued.token);
  assert.deepEqual(!other.ok && other.error.code, 'bad_signature');
  // Same key and claims, but a user access token's typ and audience.
  const userToken = await new SignJWT({ scope: 'admin' })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
    .setIssuer('airlock-relay')
    .setAudience('airlock-api')
    .setSubject(CLIENT)
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(randomUUID())
    .sign(key.privateKey);
  const wrongType = await new AdminTokenVerifier(key.publicKey).verify(userToken);
  assert.deepEqual(!wrongType.ok && wrongType.error.code, 'malformed');
});

test('scopes: admin implies all; space-separated parsing drops duplicates', () => {
  assert.ok(scopeAllows(['admin'], 'audit.read'));
  assert.ok(scopeAllows(['users.read'], 'users.read'));
  assert.ok(!scopeAllows(['users.read'], 'users.write'));
  assert.deepEqual(parseScopeString(' users.read  vms.read users.read'), ['users.read', 'vms.read']);
});
