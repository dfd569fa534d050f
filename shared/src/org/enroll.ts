import type { KeyObject } from 'node:crypto';
import { ok, type Result } from '../result.js';
import type { PinnedAnchor } from './anchor.js';
import { issueEnrolled } from './issue.js';
import { ed25519FromSeed } from './keys.js';
import { verifyCredential, type ChainRefusal } from './verify.js';

/**
 * The enrolling party's step with a v2 code (Connect for a device, the agent for a VM identity):
 * the credential the relay handed over must be the organisation's, for this subject, and for the
 * key the code's seed gives; then that one-time key certifies `key`. The seed is used here only.
 * Returns the enrolled chain `[approver?, cred, device|vmid]`.
 */
export async function certifyWithCredential(
  anchor: PinnedAnchor,
  credChain: unknown,
  o: { kind: 'user' | 'vm'; sub: string; credSeed: Buffer; key: KeyObject },
  nowMs = Date.now(),
): Promise<Result<string[], ChainRefusal>> {
  const credKey = ed25519FromSeed(o.credSeed);
  const cred = await verifyCredential(anchor, credChain, { kind: o.kind, sub: o.sub, key: credKey }, nowMs);
  if (!cred.ok) return cred;
  const leaf = await issueEnrolled(credKey, cred.value, o.key, nowMs);
  return ok([...(credChain as string[]), leaf]);
}
