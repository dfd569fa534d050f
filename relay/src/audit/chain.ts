import { createHash } from 'node:crypto';
import type { AuditEntry, AuditEventInput } from '../store/types.js';

/** prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every level, so the same entry always hashes the same way
 * whatever order its fields were built in (and after a round trip through SQLite or JSONL).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The hash of an entry covers its position (seq), time, content and the previous hash, so an
 * edit, a deletion, an insertion or a reordering all break the chain at the first bad entry.
 */
export function entryHash(entry: Omit<AuditEntry, 'hash'>): string {
  const { seq, ts, prevHash, type, actor, outcome, sid, source, data } = entry;
  return createHash('sha256')
    .update(canonicalJson({ seq, ts, prevHash, type, actor, outcome, sid, source, data }), 'utf8')
    .digest('hex');
}

/** Builds the entry that follows `prev` (undefined for the first entry). */
export function chainEntry(
  prev: Pick<AuditEntry, 'seq' | 'hash'> | undefined,
  event: AuditEventInput,
  now: Date,
): AuditEntry {
  const base: Omit<AuditEntry, 'hash'> = {
    seq: (prev?.seq ?? 0) + 1,
    ts: now.toISOString(),
    prevHash: prev?.hash ?? GENESIS_HASH,
    type: event.type,
    actor: event.actor,
    outcome: event.outcome,
    ...(event.sid !== undefined ? { sid: event.sid } : {}),
    ...(event.source !== undefined ? { source: event.source } : {}),
    data: event.data,
  };
  return { ...base, hash: entryHash(base) };
}

/** What a checkpoint signature covers. */
export function checkpointSigningInput(c: { seq: number; hash: string; ts: string }): Buffer {
  return Buffer.from(`airlock-audit-checkpoint-v1\n${c.seq}\n${c.hash}\n${c.ts}`, 'utf8');
}
