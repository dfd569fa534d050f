import { VmId, secretMatches } from '@airlock/shared';
import type { AgentCredentialStore } from '../store/types.js';

/**
 * An agent credential is `<vmId>.<secret>` (secret: 32 random bytes, base64url); the store keeps
 * only sha256(secret) in hex. Agents send it as `Authorization: Bearer <credential>`.
 */
export function parseAgentCredential(credential: string): { vmId: string; secret: string } | undefined {
  const dot = credential.indexOf('.');
  if (dot <= 0) return undefined;
  const vmId = credential.slice(0, dot);
  const secret = credential.slice(dot + 1);
  if (!VmId.safeParse(vmId).success || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
  return { vmId, secret };
}

/** The VM and credential id, or undefined — the same answer for an unknown VM, a wrong or a revoked secret. */
export async function authenticateAgent(
  credentials: AgentCredentialStore,
  credential: string,
): Promise<{ vm: string; credentialId: string } | undefined> {
  const parsed = parseAgentCredential(credential);
  if (!parsed) return undefined;
  let match: string | undefined;
  // Every active credential of the VM is compared (rotation keeps old and new for a while).
  for (const c of await credentials.listActive(parsed.vmId))
    if (secretMatches(parsed.secret, c.secretSha256)) match = c.id;
  return match ? { vm: parsed.vmId, credentialId: match } : undefined;
}
