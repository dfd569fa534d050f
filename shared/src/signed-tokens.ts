import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import * as z from 'zod';
import { lazySchema } from './lazy-schema.js';
import { err, ok, type Result } from './result.js';
import { Port, SessionId, UserName, VmId } from './schemas.js';
import { ACCESS_TOKEN_TTL_SECONDS, RESUME_TOKEN_TTL_SECONDS, TICKET_TTL_SECONDS } from './wire.js';

/**
 * Tickets and access tokens are JWTs signed by the relay's Ed25519 key. They verify with the
 * public key alone, so any relay instance (and the agent, which pins the key) checks them with
 * no database lookup. Distinct `typ` headers and audiences keep one from passing as the other.
 */
export const RELAY_JWT_ISSUER = 'airlock-relay';
const ISSUER = RELAY_JWT_ISSUER;
const TICKET = { typ: 'airlock-ticket+jwt', aud: 'airlock-session' } as const;
const ACCESS = { typ: 'at+jwt', aud: 'airlock-api' } as const;
const RESUME = { typ: 'airlock-resume+jwt', aud: 'airlock-resume' } as const;
export const RELAY_JWT_ALG = 'EdDSA';
const ALG = RELAY_JWT_ALG;
/** Tolerated clock difference between relay and agent. */
const CLOCK_TOLERANCE_SECONDS = 5;

export const TicketClaims = lazySchema(() =>
  z.object({
    sub: UserName,
    sid: SessionId,
    vm: VmId,
    /** Fingerprint (`SHA256:…`) of the one user key the agent may accept for this session. */
    ukey: z.string().startsWith('SHA256:'),
    ports: z.array(Port),
    iat: z.number(),
    exp: z.number(),
  }),
);
export type TicketClaims = z.infer<typeof TicketClaims>;

/**
 * An access token names the device that logged in and is bound (RFC 8705 `cnf`) to the client
 * certificate Connect minted for this login: the relay accepts it only on a TLS connection that
 * presents that certificate. `ukey` is the SSH fingerprint of that certificate's key, which the
 * agent accepts as the user's key for sessions opened with this token.
 */
export const AccessTokenClaims = lazySchema(() =>
  z.object({
    sub: UserName,
    did: z.string().uuid(),
    cnf: z.object({ 'x5t#S256': z.string().min(1) }),
    ukey: z.string().startsWith('SHA256:'),
    iat: z.number(),
    exp: z.number(),
  }),
);
export type AccessTokenClaims = z.infer<typeof AccessTokenClaims>;

/**
 * What lets a session be asked for again after its connection dropped: the session, its VM and
 * ports, and who may ask — the same user on the same device (`did`). It proves nothing to the
 * agent: resuming the SSH session itself needs the old session's keys (the library's reconnect
 * token), which neither the relay nor a thief of this token has.
 */
export const ResumeClaims = lazySchema(() =>
  z.object({
    sub: UserName,
    sid: SessionId,
    vm: VmId,
    did: z.string().uuid(),
    ports: z.array(Port),
    iat: z.number(),
    exp: z.number(),
  }),
);
export type ResumeClaims = z.infer<typeof ResumeClaims>;

/** Why any relay-signed JWT is refused. */
export type JwtRejection =
  | { code: 'expired'; message: string }
  | { code: 'bad_signature'; message: string }
  | { code: 'malformed'; message: string };

export type TokenRejection =
  JwtRejection | { code: 'wrong_vm'; message: string } | { code: 'wrong_session'; message: string };

export interface RelaySigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export function generateRelaySigningKey(): RelaySigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey };
}

export function relaySigningKeyFromPem(privatePem: string): RelaySigningKey {
  const privateKey = createPrivateKey(privatePem);
  return { privateKey, publicKey: createPublicKey(privateKey) };
}

export function publicKeyFromPem(pem: string): KeyObject {
  return createPublicKey(pem);
}

export class TokenIssuer {
  constructor(
    private readonly key: KeyObject,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async issueTicket(
    claims: Omit<TicketClaims, 'iat' | 'exp'>,
    ttlSeconds = TICKET_TTL_SECONDS,
  ): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + ttlSeconds;
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: ALG, typ: TICKET.typ })
      .setIssuer(ISSUER)
      .setAudience(TICKET.aud)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .setJti(claims.sid)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  async issueResumeToken(
    claims: Omit<ResumeClaims, 'iat' | 'exp'>,
    ttlSeconds = RESUME_TOKEN_TTL_SECONDS,
  ): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + ttlSeconds;
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: ALG, typ: RESUME.typ })
      .setIssuer(ISSUER)
      .setAudience(RESUME.aud)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  async issueAccessToken(
    user: string,
    binding: { deviceId: string; certThumbprint: string; userKeyFingerprint: string },
    ttlSeconds = ACCESS_TOKEN_TTL_SECONDS,
  ): Promise<{ token: string; expiresAt: Date }> {
    const iat = Math.floor(this.now() / 1000);
    const exp = iat + ttlSeconds;
    const token = await new SignJWT({
      did: binding.deviceId,
      cnf: { 'x5t#S256': binding.certThumbprint },
      ukey: binding.userKeyFingerprint,
    })
      .setProtectedHeader({ alg: ALG, typ: ACCESS.typ })
      .setIssuer(ISSUER)
      .setAudience(ACCESS.aud)
      .setSubject(user)
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, expiresAt: new Date(exp * 1000) };
  }
}

/** Verifies a JWT the relay signed: signature, issuer, this `typ` and audience, expiry, then the claims' schema. */
export async function verifyRelayJwt<T>(
  key: KeyObject,
  token: string,
  kind: { typ: string; aud: string },
  schema: z.ZodType<T>,
  now: () => number,
): Promise<Result<T, JwtRejection>> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALG],
      issuer: ISSUER,
      audience: kind.aud,
      typ: kind.typ,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(now()),
    });
    const parsed = schema.safeParse(payload);
    if (!parsed.success) return err({ code: 'malformed', message: 'token claims are malformed' });
    return ok(parsed.data);
  } catch (e) {
    if (e instanceof errors.JWTExpired) return err({ code: 'expired', message: 'token has expired' });
    if (e instanceof errors.JWSSignatureVerificationFailed)
      return err({ code: 'bad_signature', message: 'token signature does not verify' });
    if (e instanceof errors.JOSEError) return err({ code: 'malformed', message: `token rejected: ${e.message}` });
    throw e;
  }
}

export class TicketVerifier {
  constructor(
    private readonly relayPublicKey: KeyObject,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Checks signature, expiry and that the ticket is for this VM and this session. */
  async verify(
    ticket: string,
    expect: { vm?: string; sessionId?: string },
  ): Promise<Result<TicketClaims, TokenRejection>> {
    const r = await verifyRelayJwt(this.relayPublicKey, ticket, TICKET, TicketClaims, this.now);
    if (!r.ok) return r;
    if (expect.vm !== undefined && r.value.vm !== expect.vm)
      return err({ code: 'wrong_vm', message: `ticket is for VM "${r.value.vm}", not "${expect.vm}"` });
    if (expect.sessionId !== undefined && r.value.sid !== expect.sessionId)
      return err({ code: 'wrong_session', message: 'ticket is for another session' });
    return r;
  }
}

export class AccessTokenVerifier {
  constructor(
    private readonly relayPublicKey: KeyObject,
    private readonly now: () => number = () => Date.now(),
  ) {}

  verify(token: string): Promise<Result<AccessTokenClaims, TokenRejection>> {
    return verifyRelayJwt(this.relayPublicKey, token, ACCESS, AccessTokenClaims, this.now);
  }
}

/** Checks a resume token's signature, expiry and that it names this session. */
export async function verifyResumeToken(
  relayPublicKey: KeyObject,
  token: string,
  sessionId: string,
  now: () => number = () => Date.now(),
): Promise<Result<ResumeClaims, TokenRejection>> {
  const r = await verifyRelayJwt(relayPublicKey, token, RESUME, ResumeClaims, now);
  if (!r.ok) return r;
  if (r.value.sid !== sessionId) return err({ code: 'wrong_session', message: 'resume token is for another session' });
  return r;
}
