import { randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import * as z from 'zod';
import { lazySchema } from './lazy-schema.js';
import { ClientId, parseScopeString } from './admin-schemas.js';
import { ok, type Result } from './result.js';
import {
  RELAY_JWT_ALG as ALG,
  RELAY_JWT_ISSUER as ISSUER,
  verifyRelayJwt,
  type JwtRejection,
} from './signed-tokens.js';

/**
 * Admin access tokens: what an API client gets for its client credentials (RFC 6749 §4.4).
 * Ed25519 JWTs signed with the relay key, like tickets and user access tokens, but with their
 * own `typ` and audience so none of them passes as another. They are short-lived because the
 * relay also checks on every request that the client has not been revoked.
 */
const ADMIN = { typ: 'airlock-admin+jwt', aud: 'airlock-admin' } as const;
export const ADMIN_TOKEN_TTL_SECONDS = 600;

export const AdminTokenClaims = lazySchema(() =>
  z.object({
    sub: ClientId,
    /** Space-separated scopes (RFC 8693 `scope` claim). */
    scope: z.string(),
    iat: z.number(),
    exp: z.number(),
    jti: z.string(),
  }),
);
export type AdminTokenClaims = z.infer<typeof AdminTokenClaims>;

export interface VerifiedAdminToken {
  clientId: string;
  scopes: string[];
  expiresAt: Date;
}

export type AdminTokenRejection = JwtRejection;

export class AdminTokenIssuer {
  constructor(
    private readonly key: KeyObject,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async issue(
    clientId: string,
    scopes: readonly string[],
    ttlSeconds = ADMIN_TOKEN_TTL_SECONDS,
  ): Promise<{ token: string; expiresAt: Date; expiresIn: number; scope: string }> {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + ttlSeconds;
    const scope = scopes.join(' ');
    const token = await new SignJWT({ scope })
      .setProtectedHeader({ alg: ALG, typ: ADMIN.typ })
      .setIssuer(ISSUER)
      .setAudience(ADMIN.aud)
      .setSubject(clientId)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000), expiresIn: ttlSeconds, scope };
  }
}

export class AdminTokenVerifier {
  constructor(
    private readonly relayPublicKey: KeyObject,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Checks signature, type, audience and expiry; whether the client still exists is the caller's check. */
  async verify(token: string): Promise<Result<VerifiedAdminToken, AdminTokenRejection>> {
    const r = await verifyRelayJwt(this.relayPublicKey, token, ADMIN, AdminTokenClaims, this.now);
    if (!r.ok) return r;
    const c = r.value;
    return ok({ clientId: c.sub, scopes: parseScopeString(c.scope), expiresAt: new Date(c.exp * 1000) });
  }
}
