import express, { type Router } from 'express';
import {
  AgentEnrollRequest,
  EnrollBeginRequest,
  EnrollCompleteRequest,
  enrollSigningInput,
  hashSecret,
  sshFingerprintFromPem,
  verifyStatement,
  type AgentEnrollResponse,
  type EnrollBeginResponse,
  type EnrollCompleteResponse,
} from '@airlock/shared';
import type { AdminService } from '../admin/admin-service.js';
import type { AuditRecorder } from '../audit/recorder.js';
import { checkPublicKey } from '../identity/key-policy.js';
import { matchTotpStep, newTotpSecret, totpUri } from '../identity/totp.js';
import type { RelayStore } from '../store/types.js';
import { HttpError } from './http-error.js';
import { tooMany, type LoginLimits } from './login-limits.js';
import { parseBody } from './parse-body.js';
import { sourceAddress } from './request-source.js';

export interface EnrollmentDeps {
  store: RelayStore;
  audit: AuditRecorder;
  limits: LoginLimits;
  admin: AdminService;
  relaySigningKeyPem: string;
  /** Shown in the authenticator app next to the user name (the relay's host). */
  totpIssuerLabel: string;
  now: () => number;
}

/** A device key is long-term: RSA keys must be at least this large. */
const DEVICE_KEY_MIN_RSA_BITS = 3072;
/** Between "code accepted" and "TOTP confirmed" a device enrollment lives this long. */
const PENDING_ENROLLMENT_MS = 10 * 60 * 1000;
/** Wrong TOTP codes or signatures before a pending enrollment is voided (a new code is needed). */
const MAX_ENROLLMENT_FAILURES = 5;

const CODE_REFUSED: Record<'unknown' | 'used' | 'expired', string> = {
  unknown: 'this enrollment code is not valid; check you copied all of it',
  used: 'this enrollment code was already used',
  expired: 'this enrollment code has expired',
};

/** Unauthenticated routes that turn one-time codes into a device (user) or a credential (agent). */
export function createEnrollmentRouter(deps: EnrollmentDeps): Router {
  const r = express.Router();
  const { store, audit, limits } = deps;

  const guard = (source: string) => {
    limits.takeRequest(source);
    const locked = limits.sourceLockedOut(source);
    if (locked) throw tooMany(locked.message, locked.retryAfterSeconds);
  };

  r.post('/enroll/begin', async (req, res) => {
    const source = sourceAddress(req);
    guard(source);
    const body = parseBody(EnrollBeginRequest, req);
    const key = checkPublicKey(body.publicKeyPem, DEVICE_KEY_MIN_RSA_BITS);
    if (!key.ok)
      throw new HttpError(
        400,
        'bad_request',
        key.reason === 'unreadable'
          ? 'publicKeyPem: not a valid public key'
          : `publicKeyPem: must be an ECDSA P-256/384/521 or RSA ≥ ${DEVICE_KEY_MIN_RSA_BITS}-bit public key`,
      );
    const consumed = await store.codes.consume('user-enrollment', hashSecret(body.code), new Date(deps.now()));
    if (!consumed.ok) {
      limits.failSource(source);
      await audit.record({
        type: 'enroll.begin',
        actor: 'anonymous',
        outcome: 'failure',
        source,
        data: { reason: `code ${consumed.reason}` },
      });
      throw new HttpError(401, 'enrollment_code_rejected', CODE_REFUSED[consumed.reason]);
    }
    const userName = consumed.code.subject;
    const user = await store.users.get(userName);
    if (!user || user.status !== 'active') {
      await audit.record({
        type: 'enroll.begin',
        actor: `user:${userName}`,
        outcome: 'failure',
        source,
        data: { reason: 'user disabled' },
      });
      throw new HttpError(403, 'user_disabled', `user "${userName}" is disabled`);
    }
    const totp = await store.users.getTotp(userName);
    const newSecret = totp?.confirmedAt ? undefined : newTotpSecret();
    const pending = await store.pendingEnrollments.create({
      user: userName,
      deviceName: body.deviceName,
      publicKeyPem: body.publicKeyPem,
      ...(newSecret ? { newTotpSecretBase32: newSecret } : {}),
      expiresAt: new Date(deps.now() + PENDING_ENROLLMENT_MS).toISOString(),
      ...(consumed.code.orgChain ? { orgChain: consumed.code.orgChain } : {}),
    });
    await audit.record({
      type: 'enroll.begin',
      actor: `user:${userName}`,
      outcome: 'success',
      source,
      data: { enrollmentId: pending.id, device: body.deviceName, newTotp: !!newSecret },
    });
    const response: EnrollBeginResponse = {
      enrollmentId: pending.id,
      user: userName,
      expiresAt: pending.expiresAt,
      totp: newSecret
        ? { uri: totpUri(newSecret, `${userName}@${deps.totpIssuerLabel}`), secretBase32: newSecret }
        : null,
      ...(pending.orgChain ? { org: { chain: pending.orgChain } } : {}),
    };
    res.json(response);
  });

  r.post('/enroll/complete', async (req, res) => {
    const source = sourceAddress(req);
    guard(source);
    const body = parseBody(EnrollCompleteRequest, req);
    const pending = await store.pendingEnrollments.get(body.enrollmentId);
    if (!pending || Date.parse(pending.expiresAt) <= deps.now()) {
      limits.failSource(source);
      if (pending) await store.pendingEnrollments.delete(pending.id);
      // Counted towards the source's lockout, so audited too: a lockout must be explainable from the log.
      await audit.record({
        type: 'enroll.complete',
        actor: pending ? `user:${pending.user}` : 'anonymous',
        outcome: 'failure',
        source,
        data: { enrollmentId: body.enrollmentId, reason: pending ? 'enrollment expired' : 'unknown enrollment' },
      });
      throw new HttpError(
        404,
        'enrollment_not_found',
        'this enrollment is unknown or has expired; start again with a new enrollment code',
      );
    }
    const fail = async (reason: string, message: string) => {
      limits.failSource(source);
      const failures = await store.pendingEnrollments.recordFailure(pending.id);
      const voided = failures >= MAX_ENROLLMENT_FAILURES;
      if (voided) await store.pendingEnrollments.delete(pending.id);
      await audit.record({
        type: 'enroll.complete',
        actor: `user:${pending.user}`,
        outcome: 'failure',
        source,
        data: { enrollmentId: pending.id, reason, voided },
      });
      return new HttpError(
        401,
        'enrollment_failed',
        voided ? `${message}; too many failures, so this enrollment is void` : message,
      );
    };
    if (!verifyStatement(pending.publicKeyPem, enrollSigningInput(pending.id), body.signature))
      throw await fail('bad signature', 'the enrollment signature does not match the key being registered');
    /** Refusals that are no guess (nothing is counted against the source or the enrollment), audited all the same. */
    const refuse = async (reason: string, error: HttpError) => {
      await audit.record({
        type: 'enroll.complete',
        actor: `user:${pending.user}`,
        outcome: 'failure',
        source,
        data: { enrollmentId: pending.id, reason },
      });
      return error;
    };
    if (pending.orgChain && !body.deviceCert)
      throw await refuse(
        'no device certificate',
        new HttpError(
          400,
          'bad_request',
          'this enrollment code was made with the organisation root and needs a device certificate; update Airlock Connect',
        ),
      );
    const account = await store.users.get(pending.user);
    if (!account || account.status !== 'active') {
      await store.pendingEnrollments.delete(pending.id);
      throw await refuse('user disabled', new HttpError(403, 'user_disabled', `user "${pending.user}" is disabled`));
    }
    // If another enrollment confirmed a TOTP secret since this one began, that secret is the
    // user's now: this enrollment must prove it, and can never replace it with its own.
    const current = await store.users.getTotp(pending.user);
    const newSecret = current?.confirmedAt ? undefined : pending.newTotpSecretBase32;
    const secret = newSecret ?? current?.secretBase32;
    const step = secret === undefined ? undefined : matchTotpStep(secret, body.totp, deps.now());
    if (secret === undefined || step === undefined)
      throw await fail('wrong totp', 'the authenticator code is wrong; check the phone clock and try the next code');
    if (newSecret) await store.users.setTotp(pending.user, newSecret);
    // Burning the step means the code typed here cannot be replayed for a login.
    if (!(await store.users.useTotpStep(pending.user, step)))
      throw await fail('reused totp', 'that authenticator code was already used; wait for the next one');
    const device = await store.devices.create({
      user: pending.user,
      name: pending.deviceName,
      publicKeyPem: pending.publicKeyPem,
      fingerprint: sshFingerprintFromPem(pending.publicKeyPem),
      // Kept so the admin can see which devices hold a certificate; the agents check it themselves.
      ...(pending.orgChain && body.deviceCert ? { orgChain: [...pending.orgChain, body.deviceCert] } : {}),
    });
    await store.pendingEnrollments.delete(pending.id);
    await audit.record({
      type: 'enroll.complete',
      actor: `user:${pending.user}`,
      outcome: 'success',
      source,
      data: { device: device.id, deviceName: device.name, fingerprint: device.fingerprint },
    });
    const response: EnrollCompleteResponse = { user: pending.user, deviceId: device.id };
    res.json(response);
  });

  r.post('/agent/enroll', async (req, res) => {
    const source = sourceAddress(req);
    guard(source);
    const body = parseBody(AgentEnrollRequest, req);
    const result = await deps.admin.exchangeAgentToken(body.token, source);
    if (!result.ok) {
      limits.failSource(source);
      const why = {
        unknown: 'this agent enrollment token is not valid; check you copied all of it',
        used: 'this agent enrollment token was already used; ask your admin for a new one (airlock-relay vm new-token)',
        expired: 'this agent enrollment token has expired; ask your admin for a new one (airlock-relay vm new-token)',
      }[result.reason];
      throw new HttpError(401, 'enrollment_token_rejected', why);
    }
    const response: AgentEnrollResponse = {
      vm: result.vm,
      credential: result.credential,
      relaySigningKeyPem: deps.relaySigningKeyPem,
      ...(result.orgChain ? { org: { chain: result.orgChain } } : {}),
    };
    res.json(response);
  });

  return r;
}
