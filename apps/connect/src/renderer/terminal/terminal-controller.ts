import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal } from '@xterm/xterm';
import type { ApiFailure, ConnectionView, TerminalEndView } from '../../api/contract/index.js';
import { isAppShortcut } from '../workspace/shortcuts.js';
import { terminalTheme } from './terminal-theme.js';
import type { TerminalRouter } from './terminal-router.js';

export type TerminalPhase =
  | { phase: 'connecting' }
  /** `connection`: set once it dropped (reconnecting, resumed); absent while it never has. */
  | { phase: 'open'; terminalId: string; sessionId: string; connection?: ConnectionView }
  | { phase: 'failed'; failure: ApiFailure }
  | { phase: 'ended'; end: TerminalEndView; sessionId: string };

/** Acknowledge drawn output in batches of this size (or when output pauses). */
const ACK_BATCH_BYTES = 32 * 1024;

/**
 * One terminal tab: an xterm that lives as long as the tab (scrollback survives the session
 * ending and a reconnect, which opens a new shell below the old output) and the session behind it.
 */
export class TerminalController {
  readonly term: Terminal;
  readonly search = new SearchAddon();
  private readonly fit = new FitAddon();
  private state: TerminalPhase = { phase: 'connecting' };
  private readonly listeners = new Set<() => void>();
  private unacked = 0;
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** The tab was closed: a shell whose opening is answered after that is closed at once. */
  private closed = false;

  constructor(
    readonly vm: string,
    private readonly router: TerminalRouter,
    private readonly onFind: () => void,
  ) {
    this.term = new Terminal({
      scrollback: 5000,
      minimumContrastRatio: 4.5,
      cursorBlink: false,
      fontFamily: '"DejaVu Sans Mono", "Droid Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      allowProposedApi: true,
      theme: terminalTheme(),
      // Links a program writes with OSC 8 (text that need not be the address) follow the same
      // rule as links in the text, and show the address before it opens; xterm's own handler
      // opened them on a plain click, after a confirm() worded by the remote side.
      linkHandler: { activate: openHyperlink },
    });
    this.term.loadAddon(this.fit);
    this.term.loadAddon(this.search);
    this.term.loadAddon(new WebLinksAddon(openLink));
    this.term.attachCustomKeyEventHandler((e) => this.key(e));
    this.term.onData((data) => {
      if (this.state.phase === 'open') void window.airlock.terminalInput({ terminalId: this.state.terminalId, data });
    });
  }

  get phase(): TerminalPhase {
    return this.state;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(state: TerminalPhase): void {
    this.state = state;
    for (const l of [...this.listeners]) l();
  }

  /** Opens a session and a shell at the terminal's current size (again, after it ended). */
  async connect(): Promise<void> {
    if (this.state.phase === 'open' || this.closed) return;
    if (this.state.phase !== 'connecting') this.term.write('\r\n\x1b[2m── reconnecting ──\x1b[0m\r\n');
    this.set({ phase: 'connecting' });
    const r = await window.airlock.terminalOpen({ vm: this.vm, cols: this.term.cols, rows: this.term.rows });
    if (!r.ok) return this.set({ phase: 'failed', failure: r.error });
    const { terminalId, sessionId } = r.value;
    if (this.closed) return void window.airlock.terminalClose({ terminalId });
    this.set({ phase: 'open', terminalId, sessionId });
    this.router.claim(terminalId, {
      output: (data) => this.term.write(data, () => this.drawn(terminalId, data.byteLength)),
      ended: (end) => this.set({ phase: 'ended', end, sessionId }),
      connection: (connection) => {
        if (this.state.phase === 'open' && this.state.terminalId === terminalId && connection.state !== 'connected')
          this.set({ ...this.state, connection });
      },
    });
    // The window may have changed size while the session was being opened.
    this.resize();
  }

  /** Flow control: tell the service what xterm has drawn, so it reads more. */
  private drawn(terminalId: string, n: number): void {
    this.unacked += n;
    const flush = () => {
      clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
      const bytes = this.unacked;
      this.unacked = 0;
      if (bytes > 0) void window.airlock.terminalAck({ terminalId, bytes });
    };
    if (this.unacked >= ACK_BATCH_BYTES) flush();
    else this.ackTimer ??= setTimeout(flush, 20);
  }

  /** Fits the terminal to its box (when visible) and tells the remote the new size. */
  resize(): void {
    const el = this.term.element;
    if (!el || el.offsetParent === null) return;
    const before = `${this.term.cols}x${this.term.rows}`;
    this.fit.fit();
    const after = `${this.term.cols}x${this.term.rows}`;
    el.parentElement?.setAttribute('data-size', after);
    if (before !== after && this.state.phase === 'open')
      void window.airlock.terminalResize({
        terminalId: this.state.terminalId,
        cols: this.term.cols,
        rows: this.term.rows,
      });
  }

  /** xterm's key filter: copy/paste/find on Ctrl+Shift, the app's shortcuts to the app, the rest to the shell. */
  private key(e: KeyboardEvent): boolean {
    if (e.type !== 'keydown') return !isAppShortcut(e) && !isTerminalShortcut(e);
    if (isTerminalShortcut(e)) {
      e.preventDefault();
      const k = e.key.toLowerCase();
      if (k === 'c' || e.key === 'Insert') {
        const selected = this.term.getSelection();
        if (selected) void navigator.clipboard.writeText(selected);
      } else if (k === 'v') void navigator.clipboard.readText().then((text) => this.term.paste(text));
      else if (k === 'f') this.onFind();
      return false;
    }
    // The app's own shortcuts bubble on to the window, where the workspace handles them.
    return !isAppShortcut(e);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.state.phase === 'open') await window.airlock.terminalClose({ terminalId: this.state.terminalId });
    this.term.dispose();
  }
}

/** Only http(s) links, with Ctrl (⌘), opened outside the app (Electron sends them to the system browser). */
function openLink(event: MouseEvent, uri: string): void {
  if ((event.ctrlKey || event.metaKey) && /^https?:\/\//.test(uri)) window.open(uri, '_blank', 'noopener');
}

/** A link whose text the remote side chose: as openLink, once the person has seen where it goes. */
function openHyperlink(event: MouseEvent, uri: string): void {
  if (!(event.ctrlKey || event.metaKey) || !/^https?:\/\//.test(uri)) return;
  if (window.confirm(`Open this address in your browser?\n\n${uri.slice(0, 2048)}`)) openLink(event, uri);
}

function isTerminalShortcut(e: KeyboardEvent): boolean {
  const k = e.key.toLowerCase();
  return e.ctrlKey && e.shiftKey && !e.altKey && (k === 'c' || k === 'v' || k === 'f');
}
