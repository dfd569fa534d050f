import type { Logger } from 'pino';
import { EVERY_SOURCE, type HeldSourceList, type SourceListStore, type SourceReleaseStore } from '../store/types.js';

/**
 * Serves administrators' requests about the running relay's per-source limits, which live in
 * its memory and which the admin CLI, another process, can reach only through the store: it
 * applies the releases made since the last it applied (schema-v6.ts) and answers requests for
 * the list of held-back sources (schema-v7.ts), once every `intervalMs`. A relay that starts
 * begins after the newest release: its limits are new, so it owes older ones nothing.
 */
export class SourceRequestWatcher {
  private seen: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly deps: {
      releases: SourceReleaseStore;
      lists: SourceListStore;
      /** Forgets `network`'s counts (EVERY_SOURCE: every count) in each limiter; returns how many. */
      release(network: string): number;
      /** The sources held back, at most 1 000 of them, how many there are, and when that was. */
      held(): HeldSourceList;
      logger: Logger;
      intervalMs: number;
    },
  ) {}

  async start(): Promise<void> {
    this.seen = await this.deps.releases.latest();
    this.timer = setInterval(() => void this.poll(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** Applies the releases made since the last one applied, then answers the lists asked for. */
  async poll(): Promise<void> {
    if (this.polling || this.seen === undefined) return;
    this.polling = true;
    try {
      for (const request of await this.deps.releases.after(this.seen)) {
        const released = this.deps.release(request.network);
        this.seen = request.id;
        this.deps.logger.info(
          { network: request.network === EVERY_SOURCE ? 'every source' : request.network, released },
          'source limits released by an administrator',
        );
      }
      const asked = await this.deps.lists.unanswered();
      if (asked.length > 0) {
        const list = this.deps.held();
        for (const id of asked) await this.deps.lists.answer(id, list);
      }
    } catch (error) {
      // A busy or briefly locked store: the next poll tries again from the same place.
      this.deps.logger.warn({ error: (error as Error).message }, 'could not read source requests; trying again');
    } finally {
      this.polling = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
