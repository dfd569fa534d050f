import type { ApiEvent } from './contract/index.js';
import type { Dispatch } from './dispatch.js';

/**
 * What one window (a browser tab of `airlock ui`) opened through the API and has not given back:
 * its terminals and its VM-list watches. A window that goes away without closing them (a reload,
 * a closed tab) leaves them to its transport, which releases them: a shell left running with
 * nobody to see it is access the person thinks they gave up, and a watch left counted keeps the
 * relay polled every few seconds until Connect ends.
 */
export class WindowHoldings {
  private readonly terminals = new Set<string>();
  private watches = 0;
  private released = false;

  constructor(private readonly dispatch: Dispatch) {}

  /** The service's dispatch for this window, noting what it opens and gives back. */
  readonly windowDispatch: Dispatch = async (name, params) => {
    const response = await this.dispatch(name, params);
    if (!response.ok) return response;
    if (name === 'terminal.open') {
      const { terminalId } = response.value as { terminalId: string };
      // The window went away while the terminal was opening: nobody will ever close it.
      if (this.released) void this.dispatch('terminal.close', { terminalId });
      else this.terminals.add(terminalId);
    } else if (name === 'terminal.close') this.terminals.delete((params as { terminalId: string }).terminalId);
    else if (name === 'vms.watch') {
      if (this.released) void this.dispatch('vms.unwatch', {});
      else this.watches++;
    } else if (name === 'vms.unwatch') this.watches = Math.max(0, this.watches - 1);
    return response;
  };

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
