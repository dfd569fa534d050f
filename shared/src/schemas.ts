import { z } from 'zod';

/** Names that appear in URLs, logs and file names: keep them boring. */
export const VmId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'must be 1–63 lowercase letters, digits or dashes, starting with a letter or digit',
  );
export const UserName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1–63 lowercase letters, digits, dots, dashes or underscores');
export const SessionId = z.string().uuid('must be a UUID');
export const Port = z.number().int().min(1).max(65535);
/** An SSH public key blob (RFC 4253 wire format), base64. */
export const SshPublicKeyB64 = z
  .string()
  .min(16)
  .max(4096)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');

export const ApiError = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
export type ApiError = z.infer<typeof ApiError>;

// --- Enrollment --------------------------------------------------------------------------
/** 32 random bytes, base64url: the secret part of a one-time code (see enrollment-code.ts). */
export const OneTimeSecret = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be the 43-character secret of a one-time code');
export const PublicKeyPem = z
  .string()
  .max(4096)
  .regex(
    /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\r?\n?$/,
    'must be an SPKI PEM public key',
  );
export const DeviceName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N} ._()'-]+$/u, "must be 1–64 letters, digits, spaces or . _ ( ) ' -");
export const TotpCode = z.string().regex(/^\d{6}$/, 'must be the 6-digit code from your authenticator app');
export const Signature = z
  .string()
  .min(16)
  .max(2048)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
/** x5t#S256: base64url SHA-256 of a certificate's DER. */
export const CertThumbprint = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url SHA-256 thumbprint');

export const EnrollBeginRequest = z
  .object({ code: OneTimeSecret, publicKeyPem: PublicKeyPem, deviceName: DeviceName })
  .strict();
export type EnrollBeginRequest = z.infer<typeof EnrollBeginRequest>;
export const EnrollBeginResponse = z.object({
  enrollmentId: z.string().uuid(),
  user: UserName,
  expiresAt: z.string(),
  /** A new TOTP secret to set up, or null when the user already has one (use its current code). */
  totp: z.object({ uri: z.string().startsWith('otpauth://totp/'), secretBase32: z.string() }).nullable(),
});
export type EnrollBeginResponse = z.infer<typeof EnrollBeginResponse>;
export const EnrollCompleteRequest = z
  .object({
    enrollmentId: z.string().uuid('must be the enrollment id from the first step'),
    totp: TotpCode,
    /** base64 signature by the new device key over `enrollSigningInput(enrollmentId)`. */
    signature: Signature,
  })
  .strict();
export type EnrollCompleteRequest = z.infer<typeof EnrollCompleteRequest>;
export const EnrollCompleteResponse = z.object({ user: UserName, deviceId: z.string().uuid() });
export type EnrollCompleteResponse = z.infer<typeof EnrollCompleteResponse>;

export const AgentEnrollRequest = z.object({ token: OneTimeSecret }).strict();
export type AgentEnrollRequest = z.infer<typeof AgentEnrollRequest>;
export const AgentEnrollResponse = z.object({
  vm: VmId,
  /** `<vmId>.<secret>`: the agent's long-term credential, shown once. */
  credential: z.string().min(1),
  /** The key tickets are signed with; the agent pins it. */
  relaySigningKeyPem: z.string().startsWith('-----BEGIN PUBLIC KEY-----'),
});
export type AgentEnrollResponse = z.infer<typeof AgentEnrollResponse>;

// --- Login -------------------------------------------------------------------------------
export const ChallengeRequest = z.object({ user: UserName }).strict();
export const ChallengeResponse = z.object({ nonce: z.string(), expiresAt: z.string() });
export type ChallengeResponse = z.infer<typeof ChallengeResponse>;

export const LoginRequest = z
  .object({
    user: UserName,
    deviceId: z.string().uuid('must be the device id from enrollment'),
    nonce: z.string().min(16).max(200),
    totp: TotpCode,
    /** Thumbprint of the client certificate on this connection; the access token is bound to it. */
    certThumbprint: CertThumbprint,
    /** base64 DER ECDSA/RSA signature over `loginSigningInput(...)`. */
    signature: Signature,
  })
  .strict();
export type LoginRequest = z.infer<typeof LoginRequest>;
export const LoginResponse = z.object({ accessToken: z.string(), expiresAt: z.string(), user: UserName });
export type LoginResponse = z.infer<typeof LoginResponse>;

// --- VMs and sessions --------------------------------------------------------------------
export const VmSummary = z.object({
  id: VmId,
  online: z.boolean(),
  ports: z.array(Port),
  /** When the user's grant to this VM ends; absent when it does not. */
  grantExpiresAt: z.string().optional(),
});
export type VmSummary = z.infer<typeof VmSummary>;
export const VmListResponse = z.object({ vms: z.array(VmSummary) });
export type VmListResponse = z.infer<typeof VmListResponse>;

export const SessionRequest = z.object({ vm: VmId }).strict();
export type SessionRequest = z.infer<typeof SessionRequest>;
export const SessionResponse = z.object({
  sessionId: SessionId,
  vm: VmId,
  ticket: z.string(),
  /** The host key the agent registered over its authenticated control link; Connect pins it. */
  hostKey: SshPublicKeyB64,
  hostKeyFingerprint: z.string(),
  ports: z.array(Port),
  expiresAt: z.string(),
});
export type SessionResponse = z.infer<typeof SessionResponse>;

// --- Agent control link ------------------------------------------------------------------
export const AgentToRelay = z.discriminatedUnion('type', [
  z.object({ type: z.literal('register'), hostKey: SshPublicKeyB64, version: z.string().max(64) }).strict(),
  z.object({ type: z.literal('dial-refused'), sessionId: SessionId, reason: z.string().max(200) }).strict(),
  /** The agent refused a channel or forward inside a session; the relay audits it (it cannot see inside). */
  z
    .object({
      type: z.literal('channel-refused'),
      sessionId: SessionId,
      channel: z.string().max(64),
      target: z.string().max(300).optional(),
      reason: z.string().max(200),
    })
    .strict(),
]);
export type AgentToRelay = z.infer<typeof AgentToRelay>;

export const RelayToAgent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('registered'), vm: VmId }),
  z.object({ type: z.literal('dial'), sessionId: SessionId, ticket: z.string() }),
]);
export type RelayToAgent = z.infer<typeof RelayToAgent>;

/** Formats a zod error as "field: problem; field: problem" for a 4xx body or CLI message. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');
}
