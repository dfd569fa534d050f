import { randomBytes } from 'node:crypto';

/** API client ids are `ac_` + 16 random bytes: not secret, but not guessable either. */
export function newClientId(): string {
  return `ac_${randomBytes(16).toString('base64url')}`;
}

/**
 * An agent credential is `<vmId>.<secret>`; agents send it as `Authorization: Bearer <credential>`.
 * The VM id in front lets the relay find the candidate credentials without a secret index; the
 * relay checks it with identity/agent-auth.ts.
 */
export function formatAgentCredential(vmId: string, secret: string): string {
  return `${vmId}.${secret}`;
}
