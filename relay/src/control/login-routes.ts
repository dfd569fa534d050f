import { generateKeyPairSync } from 'node:crypto';
import express, { type Router } from 'express';
import {
  ChallengeRequest,
  LoginRequest,
  sshFingerprintFromPem,
  verifyLogin,
  type ChallengeResponse,
  type LoginResponse,
  type TokenIssuer,
} from '@airlock/shared';
import type { AuditRecorder } from '../audit/recorder.js';
import { checkPublicKey } from '../identity/key-policy.js';
import { checkUserTotp } from '../identity/totp.js';
import type { RelayStore } from '../store/types.js';
import { HttpError } from './http-error.js';
import type { LoginChallenges } from './login-challenges.js';
import { tooMany, type Lockout, type LoginLimits } from './login-limits.js';
import { parseBody } from './parse-body.js';
import { connectionPublicKeyPem, connectionThumbprint, sourceAddress } from './request-source.js';

export interface LoginDeps {
  store: RelayStore;
  audit: AuditRecorder;
  limits: LoginLimits;
  challenges: LoginChallenges;
  issuer: TokenIssuer;
  accessTokenTtlSeconds: number;
  now: () => number;
}

const LOGIN_FAILED =
  'login failed: the signature does not match an active device of this user; check the user name, or enroll this device again';

/**
 * Challenge login: a single-use nonce signed with the device key, a TOTP code, and the
 * thumbprint of the client certificate on this very TLS connection — the token is bound to it.
 */
export function createLoginRouter(deps: LoginDeps): Router {
  const r = express.Router();
  const { store, audit, limits } = deps;
  // An unknown device's signature is checked against this key (private half dropped), so a
  // login costs the same whether or not the user or device exists.
  const dummyKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();

  r.post('/login/challenge', (req, res) => {
    limits.takeRequest(sourceAddress(req));
    const { user } = parseBody(ChallengeRequest, req);
    // Unknown users get a nonce too, so the answer does not tell which users exist.
    const { nonce, expiresAt } = deps.challenges.issue(user);
    const body: ChallengeResponse = { nonce, expiresAt: expiresAt.toISOString() };
    res.json(body);
  });

  r.post('/login', async (req, res) => {
    const source = sourceAddress(req);
    limits.takeRequest(source);
    const body = parseBody(LoginRequest, req);
    const { user } = body;
    /**
     * Audits a refused login and counts it: against the user only once the device signature has
     * verified (a TOTP guess by a holder of the device key), against the source for anything an
     * outsider could send, not at all when nothing was guessed.
     */
    const refuse = async (reason: string, counts: 'user' | 'source' | 'nothing', error: HttpError) => {
      const lockedNow =
        counts === 'user'
          ? await limits.failVerifiedDevice(source, user)
          : counts === 'source'
            ? limits.failSource(source)
            : false;
      await audit.record({
        type: 'login.failure',
        actor: `user:${user}`,
        outcome: 'failure',
        source,
        data: { reason, device: body.deviceId, ...(lockedNow ? { lockout: lockedNow } : {}) },
      });
      return error;
    };
    const lockedOut = async (lock: Lockout) => {
      await audit.record({
        type: 'login.failure',
        actor: `user:${user}`,
        outcome: 'failure',
        source,
        data: { reason: 'locked out', device: body.deviceId },
      });
      return tooMany(lock.message, lock.retryAfterSeconds);
    };

    const sourceLock = limits.sourceLockedOut(source);
    if (sourceLock) throw await lockedOut(sourceLock);

    const presented = connectionThumbprint(req);
    const certKeyPem = connectionPublicKeyPem(req);
    if (!presented || !certKeyPem || presented !== body.certThumbprint)
      throw await refuse(
        presented ? 'certificate mismatch' : 'no client certificate',
        'nothing',
        new HttpError(
          401,
          'certificate_required',
          'the login must arrive over a TLS connection presenting the client certificate it names; update Connect',
        ),
      );

    // The certificate's key becomes the SSH user key of the sessions: only types the agent supports.
    const certKey = checkPublicKey(certKeyPem, 2048);
    if (!certKey.ok)
      throw await refuse(
        `unsupported certificate key (${certKey.keyType ?? 'unreadable'})`,
        'nothing',
        new HttpError(
          400,
          'certificate_unsupported',
          `the client certificate's key (${certKey.keyType ?? 'unreadable'}) is not supported: use RSA ≥ 2048 or ECDSA P-256/384/521; update Connect`,
        ),
      );

    const challenge = deps.challenges.consume(body.nonce, user);
    if (challenge !== 'ok')
      throw await refuse(
        `challenge ${challenge}`,
        'source',
        new HttpError(
          401,
          'login_failed',
          'login failed: the challenge is unknown, expired or already used; request a new challenge',
        ),
      );

    const [device, account] = await Promise.all([store.devices.get(body.deviceId), store.users.get(user)]);
    const deviceOk = !!device && device.user === user && !device.revokedAt;
    const signatureOk = verifyLogin(deviceOk ? device.publicKeyPem : dummyKeyPem, body, body.signature);
    if (!deviceOk || !signatureOk) {
      const reason =
        !device || device.user !== user ? 'unknown device' : device.revokedAt ? 'device revoked' : 'bad signature';
      throw await refuse(reason, 'source', new HttpError(401, 'login_failed', LOGIN_FAILED));
    }
    // From here on the caller holds this user's device key.
    if (!account || account.status !== 'active')
      throw await refuse('user disabled', 'source', new HttpError(403, 'user_disabled', `user "${user}" is disabled`));
    const userLock = await limits.userLockedOut(user);
    if (userLock) throw await lockedOut(userLock);

    const totp = await checkUserTotp(store.users, user, body.totp, deps.now());
    if (!totp.ok) {
      // A reused code is the user's own from a moment ago (a second login within 30 s), not a
      // guess: it gets a code of its own so Connect can say "wait for the next code".
      if (totp.reason === 'reused_code')
        throw await refuse(
          'totp reused_code',
          'nothing',
          new HttpError(
            401,
            'totp_reused',
            'that authenticator code was already used; wait for the next code (a new one every 30 s)',
          ),
        );
      if (totp.reason === 'no_totp')
        throw await refuse(
          'totp no_totp',
          'source',
          new HttpError(401, 'totp_failed', 'no authenticator is set up for this user; enroll again'),
        );
      throw await refuse(
        'totp wrong_code',
        'user',
        new HttpError(401, 'totp_failed', 'the authenticator code is wrong'),
      );
    }

    await limits.succeed(user);
    await store.devices.touchLogin(device.id);
    const userKeyFingerprint = sshFingerprintFromPem(certKeyPem);
    const { token, expiresAt } = await deps.issuer.issueAccessToken(
      user,
      { deviceId: device.id, certThumbprint: presented, userKeyFingerprint },
      deps.accessTokenTtlSeconds,
    );
    await audit.record({
      type: 'login.success',
      actor: `user:${user}`,
      outcome: 'success',
      source,
      data: { device: device.id, certThumbprint: presented, tokenExpiresAt: expiresAt.toISOString() },
    });
    const response: LoginResponse = { accessToken: token, expiresAt: expiresAt.toISOString(), user };
    res.json(response);
  });

  return r;
}
