import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  API_PREFIX,
  AccessTokenVerifier,
  TokenIssuer,
  generateRelaySigningKey,
  signLogin,
  verifyLogin,
} from '@airlock/shared';
import { AgentRegistry } from '../data/agent-registry.js';
import type { Heartbeat } from '../data/heartbeat.js';
import { SessionPairer } from '../data/session-pairer.js';
import { MemoryDirectory } from '../directory/document.js';
import { createRelayLogger } from '../logger.js';
import { newUser } from '../test-support/harness.js';
import { createApiApp } from './api-routes.js';

test('a login for an unknown user still verifies the signature (against a fixed dummy key)', async (t) => {
  const logger = createRelayLogger('silent');
  const directory = new MemoryDirectory();
  const alice = newUser('alice');
  await directory.addUser(alice);
  const key = generateRelaySigningKey();
  const checked: string[] = [];
  const app = createApiApp({
    directory,
    registry: new AgentRegistry(),
    pairer: new SessionPairer({
      unpairedTimeoutMs: 1000,
      pendingTtlMs: 1000,
      maxPendingSessionsPerUser: 8,
      maxPendingSessions: 1000,
      highWaterMarkBytes: 1024 * 1024,
      lowWaterMarkBytes: 256 * 1024,
      logger,
      heartbeat: { watch: () => {}, touch: () => {} } as unknown as Heartbeat,
    }),
    issuer: new TokenIssuer(key.privateKey),
    accessTokens: new AccessTokenVerifier(key.publicKey),
    logger,
    jsonBodyLimitBytes: 16 * 1024,
    maxPendingChallenges: 100,
    verifyLogin: (pem, user, nonce, signature) => {
      checked.push(pem);
      return verifyLogin(pem, user, nonce, signature);
    },
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${API_PREFIX}`;
  const post = async (path: string, body: unknown) => {
    const res = await fetch(base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { nonce: string; error?: { code: string } } };
  };
  const attempt = async (user: string) => {
    const { nonce } = (await post('/login/challenge', { user })).body;
    return post('/login', { user, nonce, signature: signLogin(alice.privateKey, user, nonce) });
  };

  for (const user of ['mallory', 'eve']) {
    const res = await attempt(user);
    assert.equal(res.status, 401);
    assert.equal(res.body.error?.code, 'login_failed');
  }
  assert.equal(checked.length, 2, 'the signature was checked for both unknown users');
  assert.equal(checked[0], checked[1], 'against one key, generated once');
  assert.notEqual(checked[0], alice.publicKeyPem);
  assert.equal(createPublicKey(checked[0]!).asymmetricKeyType, 'ec', 'a real key of the kind users have');

  assert.equal((await attempt('alice')).status, 200);
  assert.deepEqual(checked.slice(2), [alice.publicKeyPem]);
});
