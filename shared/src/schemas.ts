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

// --- Login -------------------------------------------------------------------------------
export const ChallengeRequest = z.object({ user: UserName }).strict();
export const ChallengeResponse = z.object({ nonce: z.string(), expiresAt: z.string() });
export type ChallengeResponse = z.infer<typeof ChallengeResponse>;

export const LoginRequest = z
  .object({
    user: UserName,
    nonce: z.string().min(16).max(200),
    /** base64 DER ECDSA/RSA signature over `loginSigningInput(user, nonce)`. */
    signature: z.string().min(16).max(2048),
  })
  .strict();
export type LoginRequest = z.infer<typeof LoginRequest>;
export const LoginResponse = z.object({ accessToken: z.string(), expiresAt: z.string(), user: UserName });
export type LoginResponse = z.infer<typeof LoginResponse>;

// --- VMs and sessions --------------------------------------------------------------------
export const VmSummary = z.object({ id: VmId, online: z.boolean(), ports: z.array(Port) });
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
