import type { ApiEvent } from './contract/index.js';
import type { WindowHoldings } from './window-holdings.js';

/** One window of a transport that serves several (browser mode's tabs). */
export interface ApiWindow {
  readonly holdings: WindowHoldings;
  deliver(event: ApiEvent): void;
}

/** Bound on terminal events held for an answer to `terminal.open` still on its way. */
const HELD_LIMIT_BYTES = 4 * 1024 * 1024;

/** Terminals of departed windows remembered until they end. */
const ORPHANS_REMEMBERED = 1024;

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
  /** Terminals of windows that went away, until they end: their events go nowhere. */
  private readonly orphaned = new Set<string>();

  add(window: ApiWindow): void {
    this.windows.add(window);
  }

  /** Call before the window's holdings are released. */
  remove(window: ApiWindow): void {
    this.windows.delete(window);
    for (const id of window.holdings.terminalIds) this.orphan(id);
  }

  private orphan(terminalId: string): void {
    this.orphaned.add(terminalId);
    // Bounded: ids whose end never came are forgotten oldest first.
    for (const id of this.orphaned) {
      if (this.orphaned.size <= ORPHANS_REMEMBERED) break;
      this.orphaned.delete(id);
    }
  }

  route(event: ApiEvent): void {
    if (!('terminalId' in event)) {
      for (const w of this.windows) w.deliver(event);
      return;
    }
    if (this.orphaned.has(event.terminalId)) {
      if (event.type === 'terminal.ended') this.orphaned.delete(event.terminalId);
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

  /**
   * `window` now owns `terminalId` (its `terminal.open` was answered): what came for it goes to
   * it now, ahead of anything later. Held events of opens that failed go at the next event that
   * finds no open waiting.
   */
  opened(window: ApiWindow, terminalId: string): void {
    const events = this.held.get(terminalId) ?? [];
    this.held.delete(terminalId);
    // Answered after its window went away: the terminal is closing, and nobody's.
    if (!this.windows.has(window)) this.orphan(terminalId);
    for (const e of events) {
      this.heldBytes -= sizeOf(e);
      if (!this.windows.has(window)) continue;
      window.holdings.observe(e);
      window.deliver(e);
    }
  }

  private dropHeld(): void {
    this.held.clear();
    this.heldBytes = 0;
  }
}
