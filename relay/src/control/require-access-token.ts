import type { RequestHandler } from 'express';
import type { AccessTokenVerifier } from '@airlock/shared';
import { HttpError } from './http-error.js';

/** Reads `Authorization: Bearer <token>`; returns undefined when absent or not a bearer token. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

/** Checks the access token; on success the user name is in `res.locals.user`. */
export function requireAccessToken(verifier: AccessTokenVerifier): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    // Refusals go through the error handler, which logs each one with its reason.
    if (!token)
      return next(
        new HttpError(401, 'unauthenticated', 'missing "Authorization: Bearer <access token>"; log in first'),
      );
    const r = await verifier.verify(token);
    if (!r.ok) {
      if (r.error.code === 'expired')
        return next(new HttpError(401, 'token_expired', 'access token has expired; log in again'));
      return next(new HttpError(401, 'unauthenticated', `access token rejected (${r.error.message}); log in again`));
    }
    res.locals.user = r.value.sub;
    next();
  };
}
