import type { RequestHandler } from 'express';
import type { AccessTokenVerifier } from '@airlock/shared';
import type { RefusalAuditBudget } from '../audit/refusal-budget.js';
import type { RelayStore } from '../store/types.js';
import { HttpError } from './http-error.js';
import { connectionThumbprint, sourceAddress } from './request-source.js';

/** Reads `Authorization: Bearer <token>`; returns undefined when absent or not a bearer token. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Who is calling, once the token, its certificate and the account have all been checked. */
export interface CallerIdentity {
  user: string;
  deviceId: string;
  certThumbprint: string;
  /** SSH fingerprint of the client certificate's key: the key the agent will accept. */
  userKeyFingerprint: string;
}

/**
 * Checks the access token, that this TLS connection presents the certificate the token is
 * bound to (RFC 8705), and that user and device are still active — so a revocation refuses
 * new tickets at once. On success the caller is in `res.locals.caller` (and the name in `user`).
 */
export function requireAccessToken(deps: {
  verifier: AccessTokenVerifier;
  store: RelayStore;
  /** Every refusal is audited, within a per-source budget (junk tokens must not grow the chain). */
  refusals: RefusalAuditBudget;
}): RequestHandler {
  return async (req, res, next) => {
    const source = sourceAddress(req);
    const refuse = async (actor: string, reason: string, data: Record<string, unknown>, error: HttpError) => {
      await deps.refusals.record(source, {
        type: 'token.refused',
        actor,
        outcome: 'failure',
        source,
        data: { reason, path: req.path, ...data },
      });
      return error;
    };
    try {
      const token = bearerToken(req.headers.authorization);
      if (!token)
        throw await refuse(
          'anonymous',
          'no token',
          {},
          new HttpError(401, 'unauthenticated', 'missing "Authorization: Bearer <access token>"; log in first'),
        );
      const r = await deps.verifier.verify(token);
      if (!r.ok) {
        // Nothing in a token that failed verification can be trusted, not even who it names.
        if (r.error.code === 'expired')
          throw await refuse(
            'anonymous',
            'token expired',
            {},
            new HttpError(401, 'token_expired', 'access token has expired; log in again'),
          );
        throw await refuse(
          'anonymous',
          'invalid token',
          { detail: r.error.message },
          new HttpError(401, 'unauthenticated', `access token rejected (${r.error.message}); log in again`),
        );
      }
      const claims = r.value;
      res.locals.user = claims.sub;
      const actor = `user:${claims.sub}`;
      const presented = connectionThumbprint(req);
      const bound = claims.cnf['x5t#S256'];
      if (presented !== bound)
        throw await refuse(
          actor,
          presented ? 'token presented with another certificate' : 'token presented without its certificate',
          { device: claims.did },
          new HttpError(
            401,
            'certificate_mismatch',
            presented
              ? 'this access token is bound to another client certificate; log in again from this machine'
              : 'this access token must be presented with its client certificate (mutual TLS); log in again',
          ),
        );
      const [user, device] = await Promise.all([deps.store.users.get(claims.sub), deps.store.devices.get(claims.did)]);
      if (!user || user.status !== 'active')
        throw await refuse(
          actor,
          'user disabled',
          { device: claims.did },
          new HttpError(401, 'revoked', `user "${claims.sub}" is disabled or was removed`),
        );
      if (!device || device.revokedAt || device.user !== claims.sub)
        throw await refuse(
          actor,
          'device revoked',
          { device: claims.did },
          new HttpError(401, 'revoked', 'this device was revoked; enroll it again with a new code'),
        );
      const caller: CallerIdentity = {
        user: claims.sub,
        deviceId: claims.did,
        certThumbprint: bound,
        userKeyFingerprint: claims.ukey,
      };
      res.locals.caller = caller;
      next();
    } catch (error) {
      next(error);
    }
  };
}
