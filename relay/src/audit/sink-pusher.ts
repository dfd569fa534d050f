import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AuditStore } from '../store/types.js';
import type { AuditSink } from './sinks.js';

export interface SinkPusherOptions {
  store: AuditStore;
  sinks: AuditSink[];
  logger: Logger;
  /** Entries per delivery (default and maximum 500). */
  batchSize?: number;
  /** First retry delay after a failed delivery (ms, default 1000); doubles up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  /** Default 30 000 ms. */
  maxBackoffMs?: number;
  /** Looks at the store this often even without a wake-up: other processes append too (ms, default 5000). */
  idlePollMs?: number;
}

export interface SinkStatus {
  name: string;
  /** Last seq the sink acknowledged. */
  cursor: number;
  delivered: number;
  failures: number;
  /** Failing right now (since the last success). */
  down: boolean;
  lastError?: string;
}

/** Events: `delivered` {sink, fromSeq, toSeq}, `failed` {sink, error, retryInMs}. */
export class SinkPusher extends EventEmitter {
  private readonly states: SinkStatus[];
  private readonly wakers: (() => void)[] = [];
  private readonly stop = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly batchSize: number;

  constructor(private readonly opts: SinkPusherOptions) {
    super();
    this.batchSize = Math.min(Math.max(1, opts.batchSize ?? 500), 500);
    this.states = opts.sinks.map((s) => ({ name: s.name, cursor: 0, delivered: 0, failures: 0, down: false }));
  }

  /** Starts one background loop per sink; each resumes from its stored cursor. */
  start(): void {
    if (this.loops.length > 0) return;
    this.loops = this.opts.sinks.map((sink, i) => this.run(sink, this.states[i]!, i));
  }

  /** New entries exist: loops that are idle look now. Cheap, never blocks. */
  wake(): void {
    for (const w of this.wakers) w();
  }

  status(): SinkStatus[] {
    return this.states.map((s) => ({ ...s }));
  }

  /** Stops every loop; a delivery in flight is aborted and will be redone on the next start. */
  async close(): Promise<void> {
    this.stop.abort();
    this.wake();
    await Promise.all(this.loops);
  }

  private async run(sink: AuditSink, st: SinkStatus, i: number): Promise<void> {
    const { store, logger } = this.opts;
    const signal = this.stop.signal;
    let pendingWake = false;
    let wakeUp: (() => void) | undefined;
    this.wakers[i] = () => {
      pendingWake = true;
      wakeUp?.();
    };
    const idle = (ms: number) =>
      new Promise<void>((resolve) => {
        if (pendingWake || signal.aborted) return resolve();
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wakeUp = undefined;
          resolve();
        }
        wakeUp = done;
      });
    const backoff = (ms: number) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done);
      });

    let delay = this.opts.initialBackoffMs ?? 1000;
    let downSince = 0;
    let loaded = false;
    while (!signal.aborted) {
      try {
        if (!loaded) {
          st.cursor = await store.getCursor(sink.name);
          loaded = true;
        }
        pendingWake = false;
        const batch = await store.range(st.cursor, this.batchSize);
        if (batch.length === 0) {
          await idle(this.opts.idlePollMs ?? 5000);
          continue;
        }
        await sink.deliver(batch, signal);
        const toSeq = batch.at(-1)!.seq;
        // The cursor moves only after the sink has the batch: a crash here redelivers this batch only.
        await store.setCursor(sink.name, toSeq);
        this.emit('delivered', { sink: sink.name, fromSeq: batch[0]!.seq, toSeq });
        st.cursor = toSeq;
        st.delivered += batch.length;
        if (st.down) logger.info({ sink: sink.name, downForMs: Date.now() - downSince }, 'audit sink is back');
        st.down = false;
        delete st.lastError;
        delay = this.opts.initialBackoffMs ?? 1000;
      } catch (e) {
        if (signal.aborted) break;
        st.failures++;
        st.lastError = (e as Error).message ?? String(e);
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        const fields = { sink: sink.name, error: st.lastError, cause, retryInMs: delay };
        if (!st.down) {
          downSince = Date.now();
          logger.warn(fields, 'audit sink unreachable; entries stay queued in the store');
        } else logger.debug(fields, 'audit sink still unreachable');
        st.down = true;
        this.emit('failed', { sink: sink.name, error: st.lastError, retryInMs: delay });
        await backoff(delay);
        delay = Math.min(delay * 2, this.opts.maxBackoffMs ?? 30_000);
      }
    }
  }
}
