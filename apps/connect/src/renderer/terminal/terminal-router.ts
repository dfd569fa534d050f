import type { ConnectionView, TerminalEndView } from '../../api/contract/index.js';

export interface TerminalSink {
  output(data: Uint8Array): void;
  ended(end: TerminalEndView): void;
  connection(c: ConnectionView): void;
}

/** Output for a terminal whose `terminal.open` answer has not arrived yet, held for a moment. */
const HOLD_LIMIT_BYTES = 1024 * 1024;
/**
 * How long output nobody claimed is held. The answer to `terminal.open` follows its first output
 * within milliseconds; output held longer is another window's (the host sends output that comes
 * before that answer to every window), and would otherwise stay in this page's memory for good.
 */
const HOLD_MS = 30_000;

/**
 * Routes the service's terminal events to their tab. A shell may print its prompt before the
 * answer to `terminal.open` reaches the page, so output for an id nobody claimed yet is held
 * (bounded) until the tab claims it.
 */
export class TerminalRouter {
  private readonly sinks = new Map<string, TerminalSink>();
  private readonly held = new Map<string, { chunks: Uint8Array[]; bytes: number; end?: TerminalEndView }>();

  constructor(subscribe: typeof window.airlock.onEvent) {
    subscribe((e) => {
      if (e.type === 'terminal.output') this.output(e.terminalId, e.data);
      else if (e.type === 'terminal.ended') this.ended(e.terminalId, e.end);
      else if (e.type === 'terminal.connection') this.sinks.get(e.terminalId)?.connection(e.connection);
    });
  }

  claim(terminalId: string, sink: TerminalSink): void {
    this.sinks.set(terminalId, sink);
    const held = this.held.get(terminalId);
    this.held.delete(terminalId);
    for (const chunk of held?.chunks ?? []) sink.output(chunk);
    if (held?.end) this.ended(terminalId, held.end);
  }

  private holding(terminalId: string) {
    let h = this.held.get(terminalId);
    if (!h) {
      const held = (h = { chunks: [], bytes: 0 });
      this.held.set(terminalId, held);
      setTimeout(() => {
        if (this.held.get(terminalId) === held) this.held.delete(terminalId);
      }, HOLD_MS);
    }
    return h;
  }

  private output(terminalId: string, data: Uint8Array): void {
    const sink = this.sinks.get(terminalId);
    if (sink) return sink.output(data);
    const h = this.holding(terminalId);
    if (h.bytes + data.byteLength > HOLD_LIMIT_BYTES) return;
    h.chunks.push(data);
    h.bytes += data.byteLength;
  }

  private ended(terminalId: string, end: TerminalEndView): void {
    const sink = this.sinks.get(terminalId);
    this.sinks.delete(terminalId);
    if (sink) sink.ended(end);
    else this.holding(terminalId).end = end;
  }
}
