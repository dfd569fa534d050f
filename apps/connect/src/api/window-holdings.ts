import type { ApiEvent } from './contract/index.js';
import type { Dispatch } from './dispatch.js';
import { done, unknownHandle } from './service/failures.js';

/** Requests that act on a terminal the window names by id. */
const TERMINAL_REQUESTS = new Set(['terminal.input', 'terminal.resize', 'terminal.ack', 'terminal.close']);

/**
 * What one window (a browser tab of `airlock ui`) opened through the API and has not given back:
 * its terminals and its VM-list watches. A window acts only on its own terminals, and gives back
 * only watches it holds: the service's handles are shared by every window of the host. A window
 * that goes away without closing them (a reload, a closed tab) leaves them to its transport,
 * which releases them: a shell left running with nobody to see it is access the person thinks
 * they gave up, and a watch left counted keeps the relay polled every few seconds until Connect
 * ends.
 */
export class WindowHoldings {
  private readonly terminals = new Set<string>();
  private watches = 0;
  private watchesAsked = 0;
  /** `vms.unwatch` asked while its watch was still being answered: given back once it is. */
  private unwatchesOwed = 0;
  private opens = 0;
  private released = false;

  constructor(
    private readonly dispatch: Dispatch,
    /**
     * Told of each terminal this window opened, at the moment it becomes the owner, in the same
     * step: events routed in between would otherwise find neither an owner nor an open waiting.
     */
    private readonly onTerminalOpened: (terminalId: string) => void = () => {},
  ) {}

  /** The terminals this window holds now. */
  get terminalIds(): readonly string[] {
    return [...this.terminals];
  }

  /** Whether a `terminal.open` of this window is waiting for its answer. */
  get opening(): boolean {
    return this.opens > 0;
  }

  /** The service's dispatch for this window, noting what it opens and gives back. */
  readonly windowDispatch: Dispatch = async (name, params) => {
    if (typeof name === 'string' && TERMINAL_REQUESTS.has(name)) {
      const terminalId = (params as { terminalId?: unknown } | undefined)?.terminalId;
      // Not this window's (another tab's, or ended): as the service answers an id it never had.
      if (typeof terminalId !== 'string' || !this.terminals.has(terminalId))
        return unknownHandle('terminal', String(terminalId).slice(0, 80));
      const response = await this.dispatch(name, params);
      if (name === 'terminal.close' && response.ok) this.terminals.delete(terminalId);
      return response;
    }
    if (name === 'terminal.open') return this.open(params);
    if (name === 'vms.watch') return this.watch(params);
    if (name === 'vms.unwatch') return this.unwatch();
    return this.dispatch(name, params);
  };

  private async open(params: unknown) {
    this.opens++;
    let response;
    try {
      response = await this.dispatch('terminal.open', params);
      if (!response.ok) return response;
      const { terminalId } = response.value as { terminalId: string };
      // The window went away while the terminal was opening: nobody will ever close it. (Its
      // transport is told all the same, so it stops holding the terminal's events.)
      if (this.released) void this.dispatch('terminal.close', { terminalId });
      else this.terminals.add(terminalId);
      this.onTerminalOpened(terminalId);
      return response;
    } finally {
      // Only now: until the terminal has its owner, its events are held for this answer.
      this.opens--;
    }
  }

  private async watch(params: unknown) {
    this.watchesAsked++;
    const response = await this.dispatch('vms.watch', params).finally(() => this.watchesAsked--);
    if (!response.ok) {
      // What was owed to this watch is not passed on to the next one.
      this.unwatchesOwed = Math.min(this.unwatchesOwed, this.watchesAsked);
      return response;
    }
    if (this.released || this.unwatchesOwed > 0) {
      if (!this.released) this.unwatchesOwed--;
      void this.dispatch('vms.unwatch', {});
    } else this.watches++;
    return response;
  }

  private async unwatch() {
    if (this.watches > 0) {
      this.watches--;
      return this.dispatch('vms.unwatch', {});
    }
    // A watch of this window still being answered is given back when it is; none: nothing to give.
    if (this.unwatchesOwed < this.watchesAsked) this.unwatchesOwed++;
    return done({});
  }

  /** Whether this window opened the terminal an event is about. */
  owns(event: ApiEvent): boolean {
    return 'terminalId' in event && this.terminals.has(event.terminalId);
  }

  /** Notes what an event says has ended (a terminal the service closed itself). */
  observe(event: ApiEvent): void {
    if (event.type === 'terminal.ended') this.terminals.delete(event.terminalId);
  }

  /** The window is gone: closes its terminals and gives back its watches. Resolves when done. */
  async release(): Promise<void> {
    this.released = true;
    const terminals = [...this.terminals];
    const watches = this.watches;
    this.terminals.clear();
    this.watches = 0;
    await Promise.all([
      ...terminals.map((terminalId) => this.dispatch('terminal.close', { terminalId })),
      ...Array.from({ length: watches }, () => this.dispatch('vms.unwatch', {})),
    ]);
  }
}
