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
import { tooMany, type LoginLimits } from './login-limits.js';
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
    const refuse = async (reason: string, status: number, code: string, message: string, lock = true) => {
      const lockedNow = lock ? limits.fail(source, user) : false;
      await audit.record({
        type: 'login.failure',
        actor: `user:${user}`,
        outcome: 'failure',
        source,
        data: { reason, device: body.deviceId, ...(lockedNow ? { lockout: 'started' } : {}) },
      });
      return new HttpError(status, code, message);
    };

    const locked = limits.lockedOut(source, user);
    if (locked) {
      await audit.record({
        type: 'login.failure',
        actor: `user:${user}`,
        outcome: 'failure',
        source,
        data: { reason: 'locked out', device: body.deviceId },
      });
      throw tooMany(locked.message, locked.retryAfterSeconds);
    }

    const presented = connectionThumbprint(req);
    const certKeyPem = connectionPublicKeyPem(req);
    if (!presented || !certKeyPem || presented !== body.certThumbprint)
      throw await refuse(
        presented ? 'certificate mismatch' : 'no client certificate',
        401,
        'certificate_required',
        'the login must arrive over a TLS connection presenting the client certificate it names; update Connect',
        false,
      );

    // The certificate's key becomes the SSH user key of the sessions: only types the agent supports.
    const certKey = checkPublicKey(certKeyPem, 2048);
    if (!certKey.ok)
      throw new HttpError(
        400,
        'certificate_unsupported',
        `the client certificate's key (${certKey.keyType ?? 'unreadable'}) is not supported: use RSA ≥ 2048 or ECDSA P-256/384/521; update Connect`,
      );

    const challenge = deps.challenges.consume(body.nonce, user);
    if (challenge !== 'ok')
      throw await refuse(
        `challenge ${challenge}`,
        401,
        'login_failed',
        'login failed: the challenge is unknown, expired or already used; request a new challenge',
      );

    const [device, account] = await Promise.all([store.devices.get(body.deviceId), store.users.get(user)]);
    const deviceOk = !!device && device.user === user && !device.revokedAt;
    const signatureOk = verifyLogin(deviceOk ? device.publicKeyPem : dummyKeyPem, body, body.signature);
    if (!deviceOk || !signatureOk) {
      const reason =
        !device || device.user !== user ? 'unknown device' : device.revokedAt ? 'device revoked' : 'bad signature';
      throw await refuse(reason, 401, 'login_failed', LOGIN_FAILED);
    }
    if (!account || account.status !== 'active')
      throw await refuse('user disabled', 403, 'user_disabled', `user "${user}" is disabled; ask your admin`);

    const totp = await checkUserTotp(store.users, user, body.totp, deps.now());
    if (!totp.ok) {
      const message =
        totp.reason === 'reused_code'
          ? 'that authenticator code was already used; wait for the next one'
          : totp.reason === 'no_totp'
            ? 'no authenticator is set up for this user; enroll again'
            : 'the authenticator code is wrong; check the phone clock and try the next code';
      throw await refuse(`totp ${totp.reason}`, 401, 'totp_failed', message);
    }

    limits.succeed(user);
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
