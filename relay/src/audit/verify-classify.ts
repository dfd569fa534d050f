import type { AuditEntry } from '../store/types.js';
import { entryHash } from './chain.js';

export type AuditProblem =
  | 'edited'
  | 'deleted'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'bad_checkpoint'
  /** Too many entries after the last signed checkpoint for a relay that signs one every 100. */
  | 'unsigned';

export interface Link {
  seq: number;
  hash: string;
}

export interface BreakContext {
  /** The last good entry (seq 0 and the genesis hash before the first). */
  prev: Link;
  /** Hash of the good entry before `prev`. */
  prevPrevHash: string | undefined;
  /** Hashes of recent good entries → their seq. */
  recent: ReadonlyMap<string, number>;
}

export interface Verdict {
  seq: number;
  problem: AuditProblem;
  message: string;
}

/** How far a renumbered entry's original seq is looked for. */
const RENUMBER_WINDOW = 64;

export function entrySelfConsistent(e: AuditEntry): boolean {
  return entryHash(e) === e.hash;
}

/**
 * The seq an entry's hash was computed with: its own when intact, another when only its seq
 * was changed (rows renumbered after a deletion, insertion or swap), undefined when the content
 * itself was changed.
 */
export function originalSeq(e: AuditEntry): number | undefined {
  if (entrySelfConsistent(e)) return e.seq;
  for (let d = 1; d <= RENUMBER_WINDOW; d++)
    for (const s of [e.seq - d, e.seq + d]) if (s >= 1 && entryHash({ ...e, seq: s }) === e.hash) return s;
  return undefined;
}

function plural(from: number, to: number): string {
  return from === to ? `entry ${from} is` : `entries ${from}–${to} are`;
}

/**
 * Says what most likely happened at the first entry that does not follow the last good one.
 * Detection never depends on this (any break fails verification); the `rest` read after the
 * break only tells a deletion from a reordering or an insertion.
 */
export function classifyBreak(ctx: BreakContext, e1: AuditEntry, rest: AuditEntry[]): Verdict {
  const { prev } = ctx;
  const x = prev.seq + 1;
  const orig = originalSeq(e1);
  const stored = e1.seq === x ? '' : ` (stored as entry ${e1.seq})`;

  if (e1.prevHash === prev.hash) {
    // It is the real successor of the last good entry, so it was changed in place.
    if (orig === undefined)
      return {
        seq: x,
        problem: 'edited',
        message: `entry ${x} was changed${stored}: its hash does not match its content`,
      };
    return { seq: x, problem: 'edited', message: `entry ${x} was changed: its seq now reads ${e1.seq}` };
  }

  const copyOf = ctx.recent.get(e1.hash);
  if (copyOf !== undefined)
    return {
      seq: x,
      problem: 'inserted',
      message: `entry ${x}: a second copy of entry ${copyOf} was inserted after entry ${prev.seq}`,
    };

  const successor = rest.findIndex((e) => e.prevHash === prev.hash);
  if (successor >= 0) {
    // The real next entry is still there, later on: this one was moved here or does not belong.
    if (orig !== undefined && orig > x)
      return {
        seq: x,
        problem: 'reordered',
        message: `entry ${x} is out of order: entry ${orig} comes right after entry ${prev.seq}, before it`,
      };
    return {
      seq: x,
      problem: 'inserted',
      message:
        `entry ${x}: an entry that does not belong to the chain (seq ${e1.seq}, ${e1.type}) was inserted after ` +
        `entry ${prev.seq}; the real entry ${x} comes ${successor + 1} later`,
    };
  }

  if (orig !== undefined && ctx.prevPrevHash !== undefined && e1.prevHash === ctx.prevPrevHash && prev.seq > 0) {
    // This entry follows the one before `prev` directly: `prev` was wedged in between.
    const now = orig === e1.seq ? `entry ${orig}` : `entry ${orig} (now numbered ${e1.seq})`;
    return {
      seq: prev.seq,
      problem: 'inserted',
      message: `entry ${prev.seq} was inserted: ${now} follows entry ${prev.seq - 1} directly`,
    };
  }

  const linksBackTo = ctx.recent.get(e1.prevHash);
  if (linksBackTo !== undefined)
    return {
      seq: x,
      problem: 'inserted',
      message: `entry ${x}: an entry chained to entry ${linksBackTo} (seq ${e1.seq}) was inserted after entry ${prev.seq}`,
    };

  if (orig !== undefined && orig > e1.seq && orig > x)
    return {
      seq: x,
      problem: 'deleted',
      message: `${plural(x, orig - 1)} missing and later entries were renumbered: the entry stored as ${e1.seq} is the original entry ${orig}`,
    };
  if (e1.seq > x)
    return {
      seq: x,
      problem: 'deleted',
      message: `${plural(x, e1.seq - 1)} missing: entry ${prev.seq} is followed by entry ${e1.seq}`,
    };
  if (e1.seq < x)
    return {
      seq: x,
      problem: 'reordered',
      message: `entry ${x} is out of order: entry ${e1.seq} appears after entry ${prev.seq}`,
    };
  if (orig !== undefined && prev.seq > 0)
    // Intact itself, but chained to a different version of the previous entry.
    return {
      seq: prev.seq,
      problem: 'edited',
      message: `entry ${prev.seq} was changed: entry ${x} was chained to a different entry ${prev.seq}`,
    };
  return { seq: x, problem: 'edited', message: `entry ${x} was changed: its hash does not match its content` };
}
