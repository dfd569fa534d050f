/** Test support for the audit modules: an in-memory AuditStore and small waiting helpers. */
import { chainEntry } from '../chain.js';
import type { AuditCheckpoint, AuditEntry, AuditEventInput, AuditQuery, AuditStore } from '../../store/types.js';

/** An AuditStore kept in memory; `entries` is exposed so tests can tamper with it. */
export class MemoryAuditStore implements AuditStore {
  entries: AuditEntry[] = [];
  readonly checkpointList: AuditCheckpoint[] = [];
  readonly cursors = new Map<string, number>();
  /** When set, `append` fails with this error (a broken disk, a locked database). */
  failAppend: Error | undefined;

  async append(event: AuditEventInput, now: Date = new Date()): Promise<AuditEntry> {
    if (this.failAppend) throw this.failAppend;
    const entry = chainEntry(this.entries.at(-1), event, now);
    this.entries.push(entry);
    return structuredClone(entry);
  }

  async last(): Promise<AuditEntry | undefined> {
    const e = this.entries.at(-1);
    return e && structuredClone(e);
  }

  async query(q: AuditQuery = {}): Promise<AuditEntry[]> {
    let list = this.entries.filter(
      (e) =>
        (q.afterSeq === undefined || e.seq > q.afterSeq) &&
        (q.type === undefined || e.type === q.type) &&
        (q.actor === undefined || e.actor === q.actor) &&
        (q.sid === undefined || e.sid === q.sid) &&
        (q.since === undefined || e.ts >= q.since) &&
        (q.until === undefined || e.ts <= q.until),
    );
    if (q.descending) list = [...list].reverse();
    return structuredClone(list.slice(0, q.limit ?? list.length));
  }

  async range(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return structuredClone(
      this.entries
        .filter((e) => e.seq > afterSeq)
        .sort((a, b) => a.seq - b.seq)
        .slice(0, limit),
    );
  }

  async addCheckpoint(c: AuditCheckpoint): Promise<void> {
    this.checkpointList.push(structuredClone(c));
  }

  async checkpoints(): Promise<AuditCheckpoint[]> {
    return structuredClone(this.checkpointList);
  }

  async getCursor(sink: string): Promise<number> {
    return this.cursors.get(sink) ?? 0;
  }

  async setCursor(sink: string, seq: number): Promise<void> {
    this.cursors.set(sink, seq);
  }
}

export function sampleEvent(i: number): AuditEventInput {
  return {
    type: i % 3 === 0 ? 'login.failure' : 'session.open',
    actor: `user:u${i % 4}`,
    outcome: i % 3 === 0 ? 'failure' : 'success',
    sid: `sid-${i}`,
    source: '127.0.0.1',
    data: { i, nested: { b: 2, a: [1, 'x'] }, ...(i % 3 === 0 ? { reason: 'bad_totp' } : {}) },
  };
}

/** Polls `check` (cheap, in-memory or a local file) until it holds; fails after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
