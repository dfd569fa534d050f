import * as z from 'zod';
import { readFileIfExists, writeFileAtomic } from '../files.js';
import type { PinnedAnchor } from './anchor.js';
import { OrgChain } from '../schemas.js';
import type { CrlClaims } from './objects.js';
import { crlFreshness, verifyCrl, type ChainRefusal } from './verify.js';

const CrlFile = z.object({ chain: OrgChain });

export type CrlOffer =
  | { outcome: 'newer'; seq: number }
  | { outcome: 'same' | 'older'; seq: number }
  | { outcome: 'invalid'; refusal: ChainRefusal };

/** A revocation-list file (`{"chain": […]}`) that verifies against `anchor`; undefined otherwise. */
export async function readCrlFile(
  anchor: PinnedAnchor,
  text: string,
): Promise<{ chain: string[]; claims: CrlClaims } | undefined> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = CrlFile.safeParse(json);
  if (!parsed.success) return undefined;
  const claims = await verifyCrl(anchor, parsed.data.chain);
  return claims.ok ? { chain: parsed.data.chain, claims: claims.value } : undefined;
}

/**
 * A party's newest revocation list: only ever replaced by a valid list with a higher `seq`, kept
 * on disk so a restart does not forget it (a relay then cannot roll the party back), and judged
 * for freshness when a session is checked.
 */
export class CrlKeeper {
  private newest: { chain: string[]; claims: CrlClaims } | undefined;

  private constructor(
    readonly anchor: PinnedAnchor,
    private readonly file: string | undefined,
  ) {}

  /** Loads the list kept in `file` (if any, and if it still verifies). */
  static async open(anchor: PinnedAnchor, file?: string): Promise<CrlKeeper> {
    const keeper = new CrlKeeper(anchor, file);
    const text = file ? await readFileIfExists(file) : undefined;
    if (text !== undefined) keeper.newest = await readCrlFile(anchor, text);
    return keeper;
  }

  get claims(): CrlClaims | undefined {
    return this.newest?.claims;
  }

  get chain(): string[] | undefined {
    return this.newest?.chain;
  }

  /** Takes `chain` if it is a valid list newer than the one kept; anything else changes nothing. */
  async offer(chain: unknown): Promise<CrlOffer> {
    const verified = await verifyCrl(this.anchor, chain);
    if (!verified.ok) return { outcome: 'invalid', refusal: verified.error };
    const seq = verified.value.seq;
    const current = this.newest?.claims.seq ?? 0;
    if (seq <= current) return { outcome: seq === current ? 'same' : 'older', seq };
    this.newest = { chain: chain as string[], claims: verified.value };
    if (this.file) await writeFileAtomic(this.file, `${JSON.stringify({ chain }, null, 2)}\n`, 0o644);
    return { outcome: 'newer', seq };
  }

  /** Why no new session may start now (no list, or only an expired one), if that is so. */
  refusal(nowMs: number): ChainRefusal | undefined {
    return crlFreshness(this.newest?.claims, Math.floor(nowMs / 1000));
  }
}
