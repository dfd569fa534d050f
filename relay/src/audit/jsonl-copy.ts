import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditEntry, AuditStore } from '../store/types.js';
import { makeFolders } from '@airlock/shared';

export const AUDIT_SUBDIR = 'audit';
export const AUDIT_JSONL_FILE = 'audit.jsonl';

export function auditJsonlPath(dataDir: string): string {
  return join(dataDir, AUDIT_SUBDIR, AUDIT_JSONL_FILE);
}

const PAGE = 500;
const TAIL_CHUNK = 64 * 1024;

/**
 * The local append-only JSON-lines copy of the audit log, one entry per line in seq order.
 *
 * The store is the source of truth and the copy follows it: an entry offered out of turn (the
 * admin CLI appended to the same store from another process, or an earlier write failed) makes
 * the copy fill the gap from the store first, so the file never has holes or reordering that
 * `verify` would (rightly) report. Writes happen in the background and are not fsynced one by
 * one: the copy must never slow a session down.
 */
export class JsonlCopy {
  private pending: AuditEntry[] = [];
  private syncTo = 0;
  private draining: Promise<void> | undefined;
  private closed = false;
  /** Times a write or a catch-up read failed. */
  failures = 0;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly store: AuditStore,
    private readonly logger: Logger,
    /** Seq of the last line in the file. */
    private lastWritten: number,
    /** Bytes of the file that hold whole lines; a failed write is cut back to this. */
    private goodSize: number,
  ) {}

  /** Opens (creating dir 0700 and file 0600) and catches up with the store. */
  static async open(path: string, store: AuditStore, logger: Logger): Promise<JsonlCopy> {
    await makeFolders(dirname(path), 0o700);
    const { lastSeq, size } = await repairTail(path, logger);
    const fh = await open(path, 'a', 0o600);
    await fh.chmod(0o600);
    let last = lastSeq;
    if (last === undefined) {
      // The last line is not ours to interpret; do not rewrite history after it, carry on from the store.
      last = (await store.last())?.seq ?? 0;
      logger.error({ path }, 'audit JSONL copy ends with an unreadable line; run `airlock-relay audit verify --jsonl`');
    }
    const copy = new JsonlCopy(path, fh, store, logger, last, size);
    await copy.sync();
    return copy;
  }

  /** Queues an entry just appended to the store; never waits and never throws. */
  offer(entry: AuditEntry): void {
    if (this.closed) return;
    this.pending.push(entry);
    this.kick();
  }

  /** Brings the copy up to the store's last entry (picks up entries other processes appended). */
  async sync(): Promise<void> {
    try {
      const last = await this.store.last();
      if (last) await this.copyUpTo(last.seq);
    } catch (e) {
      this.noteFailure(e, 'reading the audit store');
    }
  }

  /** Resolves once the copy holds at least every entry up to `seq` (or a write failed trying). */
  async copyUpTo(seq: number): Promise<void> {
    if (this.closed) return;
    this.syncTo = Math.max(this.syncTo, seq);
    this.kick();
    await this.flush();
  }

  /** Waits for queued writes to finish. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  get lastSeq(): number {
    return this.lastWritten;
  }

  async close(): Promise<void> {
    await this.sync();
    this.closed = true;
    await this.flush();
    // One fsync at shutdown instead of one per entry on the hot path.
    await this.fh.datasync().catch(() => undefined);
    await this.fh.close();
  }

  private kick(): void {
    if (this.draining || (this.pending.length === 0 && this.syncTo <= this.lastWritten)) return;
    this.draining = (async () => {
      await Promise.resolve(); // so the finally below always runs after this assignment
      try {
        while (this.pending.length > 0 || this.syncTo > this.lastWritten) {
          const before = this.lastWritten;
          await this.drainOnce();
          if (this.lastWritten === before && this.pending.length === 0) break; // nothing more to be had now
        }
      } finally {
        this.draining = undefined;
      }
    })();
  }

  private async drainOnce(): Promise<void> {
    const batch = this.pending.splice(0).sort((a, b) => a.seq - b.seq);
    const target = Math.max(this.syncTo, batch.at(-1)?.seq ?? 0);
    let next = this.lastWritten;
    let lines: string[] = [];
    let i = 0;
    try {
      while (next < target) {
        while (i < batch.length && batch[i]!.seq <= next) i++;
        const offered = batch[i];
        if (offered && offered.seq === next + 1) {
          lines.push(JSON.stringify(offered) + '\n');
          next = offered.seq;
          i++;
        } else {
          const upTo = offered ? offered.seq - 1 : target;
          const page = await this.store.range(next, Math.min(PAGE, upTo - next));
          if (page.length === 0) break;
          for (const e of page) {
            lines.push(JSON.stringify(e) + '\n');
            next = e.seq;
          }
        }
        if (lines.length >= PAGE) {
          await this.write(lines.join(''), next);
          lines = [];
        }
      }
      if (lines.length > 0) await this.write(lines.join(''), next);
    } catch (e) {
      // lastWritten stays behind, so the next entry or sync refills these lines from the store.
      this.noteFailure(e, 'writing the audit JSONL copy');
      this.syncTo = Math.min(this.syncTo, this.lastWritten);
    }
  }

  private async write(text: string, upToSeq: number): Promise<void> {
    const buf = Buffer.from(text, 'utf8');
    try {
      let off = 0;
      while (off < buf.length) off += (await this.fh.write(buf, off, buf.length - off)).bytesWritten;
    } catch (e) {
      // Cut a torn line off so the file still parses line by line.
      await this.fh.truncate(this.goodSize).catch(() => undefined);
      throw e;
    }
    this.goodSize += buf.length;
    this.lastWritten = upToSeq;
  }

  private noteFailure(e: unknown, what: string): void {
    this.failures++;
    this.logger.error({ err: e, path: this.path, failures: this.failures }, `audit: failed ${what}`);
  }
}

/**
 * Finds the seq of the file's last line. A last line without its newline is a write that a
 * crash interrupted: it is cut off (the store still has the entry, and the copy refills it).
 * `lastSeq` is undefined when the last complete line cannot be read.
 */
async function repairTail(path: string, logger: Logger): Promise<{ lastSeq: number | undefined; size: number }> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { lastSeq: 0, size: 0 };
    throw e;
  }
  if (size === 0) return { lastSeq: 0, size: 0 };
  const fh = await open(path, 'r+');
  try {
    let end = size;
    let tail = Buffer.alloc(0);
    // Read backwards until the tail holds one whole line before any trailing partial line.
    for (;;) {
      const start = Math.max(0, end - TAIL_CHUNK);
      const chunk = Buffer.alloc(end - start);
      await fh.read(chunk, 0, chunk.length, start);
      tail = Buffer.concat([chunk, tail]);
      end = start;
      // Work on bytes: a chunk boundary may split a multi-byte character.
      const lastNl = tail.lastIndexOf(0x0a);
      const prevNl = lastNl > 0 ? tail.lastIndexOf(0x0a, lastNl - 1) : -1;
      if (start > 0 && prevNl < 0) continue;
      const goodSize = start + lastNl + 1;
      if (goodSize !== size) {
        logger.warn({ path, cutBytes: size - goodSize }, 'audit JSONL copy ended in a partial line; cut it off');
        await fh.truncate(goodSize);
        if (lastNl < 0) return { lastSeq: 0, size: 0 };
        return repairTail(path, logger);
      }
      const lastLine = tail.subarray(prevNl + 1, lastNl).toString('utf8');
      return { lastSeq: seqOfLine(lastLine), size: goodSize };
    }
  } finally {
    await fh.close();
  }
}

function seqOfLine(line: string): number | undefined {
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
  } catch {
    return undefined;
  }
}
