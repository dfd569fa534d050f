import type { Logger } from 'pino';
import { EVERY_SOURCE, type SourceReleaseStore } from '../store/types.js';

/**
 * Applies administrators' source releases (see schema-v6.ts) to the running relay's per-source
 * limits: it reads the requests made since the last it applied, once every `intervalMs`. A relay
 * that starts begins after the newest request: its limits are new, so it owes older ones nothing.
 */
export class SourceReleaseWatcher {
  private seen: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly deps: {
      store: SourceReleaseStore;
      /** Forgets `network`'s counts (EVERY_SOURCE: every count) in each limiter; returns how many. */
      release(network: string): number;
      logger: Logger;
      intervalMs: number;
    },
  ) {}

  async start(): Promise<void> {
    this.seen = await this.deps.store.latest();
    this.timer = setInterval(() => void this.poll(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** Applies the requests made since the last one applied. */
  async poll(): Promise<void> {
    if (this.polling || this.seen === undefined) return;
    this.polling = true;
    try {
      for (const request of await this.deps.store.after(this.seen)) {
        const released = this.deps.release(request.network);
        this.seen = request.id;
        this.deps.logger.info(
          { network: request.network === EVERY_SOURCE ? 'every source' : request.network, released },
          'source limits released by an administrator',
        );
      }
    } catch (error) {
      // A busy or briefly locked store: the next poll tries again from the same place.
      this.deps.logger.warn({ error: (error as Error).message }, 'could not read source releases; trying again');
    } finally {
      this.polling = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
