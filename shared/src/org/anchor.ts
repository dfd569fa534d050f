import { createHash, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import { err, ok, type Result } from '../result.js';
import { publicKeyFromSpkiB64url, spkiB64url } from '../spki.js';
import { publicKeyFingerprint } from './keys.js';
import { lazySchema } from '../lazy-schema.js';

/**
 * The anchor: the organisation's root public keys (primary and backup), in one small JSON
 * document. Its fingerprint, `afp` = base64url(SHA-256(the exact bytes)), is what enrollment
 * codes carry and what Connect and agents pin; the relay only serves the bytes.
 */
export const ANCHOR_TYPE = 'airlock-anchor';
const SPKI_B64URL = lazySchema(() =>
  z.string().regex(/^[A-Za-z0-9_-]{40,800}$/, 'must be a base64url SPKI public key'),
);
export const AnchorFingerprint = lazySchema(() =>
  z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be a 43-character anchor fingerprint'),
);

export const AnchorDocument = lazySchema(() =>
  z
    .object({
      v: z.literal(1),
      type: z.literal(ANCHOR_TYPE),
      org: z.string().min(1).max(100),
      roots: z.array(SPKI_B64URL).min(1).max(4),
      createdAt: z.string(),
    })
    .strict(),
);
export type AnchorDocument = z.infer<typeof AnchorDocument>;

/** A verified anchor: its text, fingerprint, and root keys (Ed25519). */
export interface PinnedAnchor {
  text: string;
  afp: string;
  org: string;
  roots: { key: KeyObject; fingerprint: string }[];
}

export type AnchorError = { code: 'anchor_mismatch' | 'anchor_malformed'; message: string };

/** The largest anchor anyone needs to read (four roots and a name). */
export const MAX_ANCHOR_BYTES = 8 * 1024;

export function anchorFingerprint(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}

export function makeAnchorText(org: string, roots: KeyObject[], now = new Date()): string {
  const doc: AnchorDocument = {
    v: 1,
    type: ANCHOR_TYPE,
    org,
    roots: roots.map(spkiB64url),
    createdAt: now.toISOString(),
  };
  return `${JSON.stringify(AnchorDocument.parse(doc), null, 2)}\n`;
}

/** Reads an anchor; with `expectedAfp`, only the one that hashes to it (what a code pinned). */
export function parseAnchor(text: string, expectedAfp?: string): Result<PinnedAnchor, AnchorError> {
  if (Buffer.byteLength(text, 'utf8') > MAX_ANCHOR_BYTES)
    return err({ code: 'anchor_malformed', message: 'the organisation anchor is too large' });
  const afp = anchorFingerprint(text);
  if (expectedAfp !== undefined && afp !== expectedAfp)
    return err({
      code: 'anchor_mismatch',
      message: `the organisation anchor has fingerprint ${afp}, but ${expectedAfp} was pinned`,
    });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return err({ code: 'anchor_malformed', message: 'the organisation anchor is not JSON' });
  }
  const parsed = AnchorDocument.safeParse(json);
  if (!parsed.success) return err({ code: 'anchor_malformed', message: 'the organisation anchor is malformed' });
  const roots: PinnedAnchor['roots'] = [];
  for (const spki of parsed.data.roots) {
    let key: KeyObject;
    try {
      key = publicKeyFromSpkiB64url(spki);
    } catch {
      return err({ code: 'anchor_malformed', message: 'a root key in the organisation anchor is not a public key' });
    }
    if (key.asymmetricKeyType !== 'ed25519')
      return err({ code: 'anchor_malformed', message: 'the organisation roots must be Ed25519 keys' });
    roots.push({ key, fingerprint: publicKeyFingerprint(key) });
  }
  return ok({ text, afp, org: parsed.data.org, roots });
}
