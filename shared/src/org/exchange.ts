import * as z from 'zod';
import { lazySchema } from '../lazy-schema.js';
import { OrgChain, UserName, VmId } from '../schemas.js';
import { tlsPinSchema } from '../tls/pin.js';
import { AnchorFingerprint } from './anchor.js';

/** What both messages of the exchange start with: their type, version 1, and whom the code is for. */
const exchangeHeader = <T extends string>(type: T) => ({
  type: z.literal(type),
  v: z.literal(1),
  kind: z.enum(['user', 'vm']),
  sub: z.string().max(63),
});

/**
 * What travels between the relay and the admin workstation when an administrator makes a code:
 * the relay exports a request (who, and where the code must send them), the admin tool signs
 * and answers with only what the relay may hold (the hash of the relay secret and the public
 * credential certificate). The code itself goes from the admin tool to the person, never through
 * the relay.
 */
export const OrgRequest = lazySchema(() =>
  z
    .object({
      ...exchangeHeader('airlock-org-request'),
      /** Where the code sends the person or agent, and the relay's TLS pin there. */
      relayUrl: z.string().url().startsWith('https://'),
      relayPin: tlsPinSchema,
      /** The anchor the relay holds, so a request meant for another organisation is noticed. */
      afp: AnchorFingerprint,
      createdAt: z.string(),
    })
    .strict()
    .refine((r) => (r.kind === 'user' ? UserName : VmId).safeParse(r.sub).success, {
      message: 'sub must be a user name or VM id',
      path: ['sub'],
    }),
);
export type OrgRequest = z.infer<typeof OrgRequest>;

export const OrgAnswer = lazySchema(() =>
  z
    .object({
      ...exchangeHeader('airlock-org-answer'),
      /** sha256 (hex) of the relay secret derived from the code's K. */
      secretSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256'),
      /** `[approver?, cred]`. */
      chain: OrgChain,
      expiresAt: z.string(),
    })
    .strict(),
);
export type OrgAnswer = z.infer<typeof OrgAnswer>;
