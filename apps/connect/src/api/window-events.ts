import type { ApiEvent } from './contract/index.js';
import type { WindowHoldings } from './window-holdings.js';

/** One window of a transport that serves several (browser mode's tabs). */
export interface ApiWindow {
  readonly holdings: WindowHoldings;
  deliver(event: ApiEvent): void;
}

/** Bound on terminal events held for an answer to `terminal.open` still on its way. */
const HELD_LIMIT_BYTES = 4 * 1024 * 1024;

const sizeOf = (e: ApiEvent) => (e.type === 'terminal.output' ? e.data.byteLength : 0) + 64;

/**
 * Routes the service's events to windows: a terminal's only to the window that opened it, the
 * rest to every window. A shell may print before the answer to its `terminal.open` reaches the
 * window (the owner is not known yet): while some window waits for such an answer, events of
 * terminals nobody owns are held, and go to the window whose answer names the terminal, before
 * that answer. Otherwise they are dropped: they belong to a window that went away (its terminals
 * closing), and no other window may see them.
 */
export class WindowEvents {
  private readonly windows = new Set<ApiWindow>();
  private readonly held = new Map<string, ApiEvent[]>();
  private heldBytes = 0;

  add(window: ApiWindow): void {
    this.windows.add(window);
  }

  remove(window: ApiWindow): void {
    this.windows.delete(window);
  }

  route(event: ApiEvent): void {
    if (!('terminalId' in event)) {
      for (const w of this.windows) w.deliver(event);
      return;
    }
    for (const w of this.windows)
      if (w.holdings.owns(event)) {
        w.holdings.observe(event);
        w.deliver(event);
        return;
      }
    if (![...this.windows].some((w) => w.holdings.opening)) return this.dropHeld();
    const size = sizeOf(event);
    if (this.heldBytes + size > HELD_LIMIT_BYTES) return;
    this.heldBytes += size;
    const list = this.held.get(event.terminalId);
    if (list) list.push(event);
    else this.held.set(event.terminalId, [event]);
  }

  /** `window`'s `terminal.open` was answered with `terminalId`: what came for it goes to it now. */
  opened(window: ApiWindow, terminalId: string): void {
    const events = this.held.get(terminalId) ?? [];
    this.held.delete(terminalId);
    for (const e of events) {
      this.heldBytes -= sizeOf(e);
      window.holdings.observe(e);
      window.deliver(e);
    }
    if (![...this.windows].some((w) => w.holdings.opening)) this.dropHeld();
  }

  private dropHeld(): void {
    this.held.clear();
    this.heldBytes = 0;
  }
}
