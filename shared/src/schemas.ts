import * as z from 'zod';
import { USER_NAME_RULE, VM_ID_RULE } from './names.js';
import { lazySchema } from './lazy-schema.js';

/** Names that appear in URLs, logs and file names: keep them boring (names.ts). */
export const VmId = lazySchema(() => z.string().regex(VM_ID_RULE.pattern, VM_ID_RULE.message));
export const UserName = lazySchema(() => z.string().regex(USER_NAME_RULE.pattern, USER_NAME_RULE.message));
export const SessionId = lazySchema(() => z.string().uuid('must be a UUID'));
export const Port = lazySchema(() => z.number().int().min(1).max(65535));
/** A base64 string of `min` to `max` characters. */
const base64 = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
/** An SSH public key blob (RFC 4253 wire format), base64. */
export const SshPublicKeyB64 = lazySchema(() => base64(16, 4096));

/** One of the organisation's signed objects (issue 12), JWS in compact form. */
export const OrgJws = lazySchema(() =>
  z
    .string()
    .max(8192)
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'must be a JWS in compact form'),
);
/** A chain of the organisation's signed objects, top (nearest the root) first. */
export const OrgChain = lazySchema(() => z.array(OrgJws).min(1).max(8));
export type OrgChain = z.infer<typeof OrgChain>;

export const ApiError = lazySchema(() => z.object({ error: z.object({ code: z.string(), message: z.string() }) }));
export type ApiError = z.infer<typeof ApiError>;

// --- Enrollment --------------------------------------------------------------------------
/** 32 random bytes, base64url: the secret part of a one-time code (see enrollment-code.ts). */
export const OneTimeSecret = lazySchema(() =>
  z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be the 43-character secret of a one-time code'),
);
export const PublicKeyPem = lazySchema(() =>
  z
    .string()
    .max(4096)
    .regex(
      /^-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\r?\n?$/,
      'must be an SPKI PEM public key',
    ),
);
export const DeviceName = lazySchema(() =>
  z
    .string()
    .min(1)
    .max(64)
    .regex(/^[\p{L}\p{N} ._()'-]+$/u, "must be 1–64 letters, digits, spaces or . _ ( ) ' -"),
);
export const TotpCode = lazySchema(() =>
  z.string().regex(/^\d{6}$/, 'must be the 6-digit code from your authenticator app'),
);
export const Signature = lazySchema(() => base64(16, 2048));
/** x5t#S256: base64url SHA-256 of a certificate's DER. */
export const CertThumbprint = lazySchema(() =>
  z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url SHA-256 thumbprint'),
);

export const EnrollBeginRequest = lazySchema(() =>
  z.object({ code: OneTimeSecret, publicKeyPem: PublicKeyPem, deviceName: DeviceName }).strict(),
);
export type EnrollBeginRequest = z.infer<typeof EnrollBeginRequest>;
export const EnrollBeginResponse = lazySchema(() =>
  z.object({
    enrollmentId: z.string().uuid(),
    user: UserName,
    expiresAt: z.string(),
    /** A new TOTP secret to set up, or null when the user already has one (use its current code). */
    totp: z.object({ uri: z.string().startsWith('otpauth://totp/'), secretBase32: z.string() }).nullable(),
    /** For a `u2` code: the enrollment credential the admin signed (`[approver?, cred]`). */
    org: z.object({ chain: OrgChain }).optional(),
  }),
);
export type EnrollBeginResponse = z.infer<typeof EnrollBeginResponse>;
export const EnrollCompleteRequest = lazySchema(() =>
  z
    .object({
      enrollmentId: z.string().uuid('must be the enrollment id from the first step'),
      totp: TotpCode,
      /** base64 signature by the new device key over `enrollSigningInput(enrollmentId)`. */
      signature: Signature,
      /** For a `u2` code: the device certificate the credential key signed for the new key. */
      deviceCert: OrgJws.optional(),
    })
    .strict(),
);
export type EnrollCompleteRequest = z.infer<typeof EnrollCompleteRequest>;
export const EnrollCompleteResponse = lazySchema(() => z.object({ user: UserName, deviceId: z.string().uuid() }));
export type EnrollCompleteResponse = z.infer<typeof EnrollCompleteResponse>;

export const AgentEnrollRequest = lazySchema(() => z.object({ token: OneTimeSecret }).strict());
export type AgentEnrollRequest = z.infer<typeof AgentEnrollRequest>;
export const AgentEnrollResponse = lazySchema(() =>
  z.object({
    vm: VmId,
    /** `<vmId>.<secret>`: the agent's long-term credential, shown once. */
    credential: z.string().min(1),
    /** The key tickets are signed with; the agent pins it. */
    relaySigningKeyPem: z.string().startsWith('-----BEGIN PUBLIC KEY-----'),
    /** For an `a2` token: the enrollment credential the admin signed (`[approver?, cred]`). */
    org: z.object({ chain: OrgChain }).optional(),
  }),
);

/** `GET /api/v1/org`: what the relay holds of the organisation (nothing a party must believe). */
export const OrgInfoResponse = lazySchema(() =>
  z.object({
    /** The anchor's exact text; a party accepts it only if it hashes to the fingerprint it pinned. */
    anchor: z.string().max(8192).nullable(),
    /** The newest revocation list the relay was given. */
    crl: OrgChain.nullable(),
  }),
);
export type OrgInfoResponse = z.infer<typeof OrgInfoResponse>;
export type AgentEnrollResponse = z.infer<typeof AgentEnrollResponse>;

// --- Login -------------------------------------------------------------------------------
export const ChallengeRequest = lazySchema(() => z.object({ user: UserName }).strict());
export const ChallengeResponse = lazySchema(() => z.object({ nonce: z.string(), expiresAt: z.string() }));
export type ChallengeResponse = z.infer<typeof ChallengeResponse>;

export const LoginRequest = lazySchema(() =>
  z
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
    .strict(),
);
export type LoginRequest = z.infer<typeof LoginRequest>;
export const LoginResponse = lazySchema(() =>
  z.object({ accessToken: z.string(), expiresAt: z.string(), user: UserName }),
);
export type LoginResponse = z.infer<typeof LoginResponse>;

// --- VMs and sessions --------------------------------------------------------------------
export const VmSummary = lazySchema(() =>
  z.object({
    id: VmId,
    online: z.boolean(),
    ports: z.array(Port),
    /** When the user's grant to this VM ends; absent when it does not. */
    grantExpiresAt: z.string().optional(),
    /** The VM chain its agent registered (organisation root), for `airlock vms --verbose`. */
    vmChain: OrgChain.optional(),
  }),
);
export type VmSummary = z.infer<typeof VmSummary>;
export const VmListResponse = lazySchema(() => z.object({ vms: z.array(VmSummary) }));
export type VmListResponse = z.infer<typeof VmListResponse>;

export const SessionRequest = lazySchema(() =>
  z
    .object({
      vm: VmId,
      /** Connect's user chain (`[approver?, cred, device, login]`), passed to the agent with the ticket. */
      userChain: OrgChain.optional(),
      /** Connect's newest revocation list, passed to the agent too. */
      crl: OrgChain.optional(),
    })
    .strict(),
);
export type SessionRequest = z.infer<typeof SessionRequest>;
export const SessionResponse = lazySchema(() =>
  z.object({
    sessionId: SessionId,
    vm: VmId,
    ticket: z.string(),
    /** The host key the agent registered over its authenticated control link; Connect pins it. */
    hostKey: SshPublicKeyB64,
    hostKeyFingerprint: z.string(),
    ports: z.array(Port),
    expiresAt: z.string(),
    /** The VM chain the agent registered (`[approver?, cred, vmid, hostkey]`): Connect checks it. */
    vmChain: OrgChain.optional(),
    /** The newest revocation list the relay holds. */
    crl: OrgChain.optional(),
    /**
     * Lets this user, from this device, ask for the session again after its connection dropped
     * (`POST /sessions/:sid/resume`). Relay-signed, so any relay instance (or this one after a
     * restart) checks it without having kept the session.
     */
    resumeToken: z.string().optional(),
  }),
);
export type SessionResponse = z.infer<typeof SessionResponse>;

/** `POST /sessions/:sid/resume`: the session's resume token, and what a new session request carries. */
export const ResumeRequest = lazySchema(() =>
  z
    .object({
      resumeToken: z.string().min(1).max(4096),
      userChain: OrgChain.optional(),
      crl: OrgChain.optional(),
    })
    .strict(),
);
export type ResumeRequest = z.infer<typeof ResumeRequest>;

// --- Agent control link ------------------------------------------------------------------
export const AgentToRelay = lazySchema(() =>
  z.discriminatedUnion('type', [
    z
      .object({
        type: z.literal('register'),
        hostKey: SshPublicKeyB64,
        version: z.string().max(64),
        /** With an organisation root: `[approver?, cred, vmid, hostkey]` for this host key. */
        vmChain: OrgChain.optional(),
      })
      .strict(),
    /** A re-signed host key certificate (the agent renews it daily). */
    z.object({ type: z.literal('vm-chain'), vmChain: OrgChain }).strict(),
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
  ]),
);
export type AgentToRelay = z.infer<typeof AgentToRelay>;

export const RelayToAgent = lazySchema(() =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('registered'), vm: VmId }),
    z.object({
      type: z.literal('dial'),
      sessionId: SessionId,
      ticket: z.string(),
      userChain: OrgChain.optional(),
      crl: OrgChain.optional(),
      /** Join the session's suspended SSH session again (a new data socket; SSH's own reconnect runs over it). */
      resume: z.literal(true).optional(),
    }),
    /** The newest revocation list, when the agent registers and whenever an admin sets one. */
    z.object({ type: z.literal('crl'), crl: OrgChain }),
    /**
     * End a session now, connected or waiting for a resume (revocation, an admin's kill). The relay
     * could always end a session by dropping its connections; this also ends one that has none.
     */
    z.object({ type: z.literal('end'), sessionId: SessionId, reason: z.string().max(200) }),
  ]),
);
export type RelayToAgent = z.infer<typeof RelayToAgent>;

/** Formats a zod error as "field: problem; field: problem" for a 4xx body or CLI message. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; ');
}
