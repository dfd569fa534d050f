import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { VmId } from '@airlock/shared';
import type { Directory } from './directory.js';

/**
 * An agent credential is `<vmId>.<secret>`, the secret 32 random bytes in base64url. The relay
 * keeps only sha256(secret). Agents send it as `Authorization: Bearer <credential>`.
 */
export function newAgentSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashAgentSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function formatAgentCredential(vmId: string, secret: string): string {
  return `${vmId}.${secret}`;
}

export function parseAgentCredential(credential: string): { vmId: string; secret: string } | undefined {
  const dot = credential.indexOf('.');
  if (dot <= 0) return undefined;
  const vmId = credential.slice(0, dot);
  const secret = credential.slice(dot + 1);
  if (!VmId.safeParse(vmId).success || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
  return { vmId, secret };
}

/** Creates a VM with a fresh credential and returns the credential (shown once, never stored). */
export async function enrollVm(directory: Directory, id: string, ports: number[]): Promise<string> {
  const secret = newAgentSecret();
  await directory.addVm({ id, ports, secretSha256: hashAgentSecret(secret) });
  return formatAgentCredential(id, secret);
}

/** Replaces a VM's credential; the old one stops working at the agent's next connection. */
export async function rotateVmCredential(directory: Directory, id: string): Promise<string> {
  const secret = newAgentSecret();
  await directory.setVmSecret(id, hashAgentSecret(secret));
  return formatAgentCredential(id, secret);
}

const DUMMY_HASH = Buffer.alloc(32);

/** Returns the VM id the credential belongs to, or undefined (same answer for unknown VM and wrong secret). */
export async function authenticateAgent(directory: Directory, credential: string): Promise<string | undefined> {
  const parsed = parseAgentCredential(credential);
  if (!parsed) return undefined;
  const vm = await directory.getVm(parsed.vmId);
  const presented = createHash('sha256').update(parsed.secret, 'utf8').digest();
  const stored = vm ? Buffer.from(vm.secretSha256, 'hex') : DUMMY_HASH;
  const match = stored.length === presented.length && timingSafeEqual(stored, presented);
  return vm && match ? vm.id : undefined;
}
