import type { Logger } from 'pino';
import type { AuditEntry, AuditEventInput, AuditStore } from '../store/types.js';
import { JsonlCopy, auditJsonlPath } from './jsonl-copy.js';
import type { AuditRecorder } from './recorder.js';

export interface AuditLogOptions {
  store: AuditStore;
  logger: Logger;
  /**
   * The relay data dir: the JSON-lines copy goes to `<dataDir>/audit/audit.jsonl`. Leave it out
   * in processes that only append (the admin CLI): the relay's copy picks their entries up from
   * the store, and two writers of one file could not keep it in seq order.
   */
  dataDir?: string;
  /** How often the copy checks the store for entries other processes appended (ms, default 5000). */
  syncIntervalMs?: number;
  now?: () => Date;
}

export interface AuditLogStats {
  recorded: number;
  /** Events that could not be appended to the store (each was logged). */
  failed: number;
  /** Failed writes to the JSON-lines copy (each was logged; the copy refills from the store). */
  copyFailures: number;
}

export type AuditListener = (entry: AuditEntry) => void;

/**
 * The relay's audit recorder: appends to the store (which chains the entry atomically), then
 * hands the entry to the JSON-lines copy and to listeners (checkpointer, sink pusher), which all
 * work in the background. `record` never throws: a failure to audit must not end a session.
 */
export class AuditLog implements AuditRecorder {
  private readonly listeners = new Set<AuditListener>();
  private recorded = 0;
  private failed = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly opts: AuditLogOptions,
    private readonly copy: JsonlCopy | undefined,
  ) {
    if (copy) {
      this.timer = setInterval(() => void copy.sync(), opts.syncIntervalMs ?? 5000);
      this.timer.unref();
    }
  }

  static async open(opts: AuditLogOptions): Promise<AuditLog> {
    const copy = opts.dataDir ? await JsonlCopy.open(auditJsonlPath(opts.dataDir), opts.store, opts.logger) : undefined;
    return new AuditLog(opts, copy);
  }

  async record(event: AuditEventInput): Promise<AuditEntry | undefined> {
    let entry: AuditEntry;
    try {
      entry = await this.opts.store.append(event, this.opts.now?.());
    } catch (e) {
      this.failed++;
      // Event data stays out of the log line: the type and actor say what was lost.
      this.opts.logger.error(
        { err: e, type: event.type, actor: event.actor, outcome: event.outcome, sid: event.sid, failed: this.failed },
        'audit: could not record event',
      );
      return undefined;
    }
    this.recorded++;
    this.copy?.offer(entry);
    for (const listener of this.listeners) {
      try {
        listener(entry);
      } catch (e) {
        this.opts.logger.error({ err: e, seq: entry.seq }, 'audit: listener failed');
      }
    }
    return entry;
  }

  /** Called after every entry this process appends; returns the unsubscribe function. */
  onAppended(listener: AuditListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): AuditLogStats {
    return { recorded: this.recorded, failed: this.failed, copyFailures: this.copy?.failures ?? 0 };
  }

  /** Waits until the JSON-lines copy holds every entry up to `seq` (checkpoints sign only what the copy has). */
  async copyUpTo(seq: number): Promise<void> {
    await this.copy?.copyUpTo(seq);
  }

  /** Waits for queued JSON-lines writes. */
  async flush(): Promise<void> {
    await this.copy?.flush();
  }

  /** Path of the JSON-lines copy, if this log writes one. */
  get jsonlPath(): string | undefined {
    return this.copy?.path;
  }

  /**
   * Stops the copy after catching it up with the store. Later `record` calls still reach the
   * store (sessions closing during shutdown); the next start copies them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.listeners.clear();
    await this.copy?.close();
  }
}
