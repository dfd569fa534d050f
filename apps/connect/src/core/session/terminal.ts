import { err, ok, type Result } from '@airlock/shared';
import type { ExitInfo } from './channel-streams.js';
import type { ChannelError, SessionClosedEvent, ShellChannel, VmSession, VmSessionError } from './types.js';

/**
 * How a terminal ended, for people and for a tab that says so: the remote shell exited with a
 * status or was killed by a signal; the session to the VM was lost (relay or agent gone, network)
 * or access was revoked — both with the error and its session id; or it was closed here.
 */
export type TerminalEnd =
  | { kind: 'exited'; exitStatus: number }
  | { kind: 'signal'; signal: string }
  | { kind: 'session_lost'; error: VmSessionError | ChannelError }
  | { kind: 'revoked'; error: VmSessionError }
  | { kind: 'closed' };

/**
 * A remote shell on a pseudo-terminal as plain data — bytes out, bytes or text in, a size, an
 * end — so it can cross IPC or a WebSocket. Output is flow-controlled by acknowledgement: once
 * `highWaterBytes` have been handed out and not acknowledged, reading stops (the SSH window closes,
 * the remote shell blocks) until the consumer acknowledges what it has drawn.
 */
export interface Terminal {
  readonly sessionId: string;
  readonly vm: string;
  write(data: string | Uint8Array): void;
  resize(cols: number, rows: number): void;
  /** The consumer has drawn `bytes` more bytes of output. */
  acknowledge(bytes: number): void;
  onOutput(listener: (data: Uint8Array) => void): () => void;
  /** Resolves once, with how it ended (after the last output was handed out). */
  readonly ended: Promise<TerminalEnd>;
  /** Closes the shell and, when the terminal owns it, its session. */
  close(): Promise<void>;
}

export interface OpenTerminalOptions {
  cols: number;
  rows: number;
  term?: string;
  /** Close the session when the terminal ends (one session per terminal). Default true. */
  ownsSession?: boolean;
  /** Unacknowledged output that pauses reading; default 1 MiB. */
  highWaterBytes?: number;
}

/** How long a channel's end waits for the session's own reason, which follows within moments. */
const SESSION_REASON_WAIT_MS = 500;

export async function openTerminal(
  session: VmSession,
  options: OpenTerminalOptions,
): Promise<Result<Terminal, ChannelError>> {
  const opened = await session.openShell({
    pty: true,
    term: options.term ?? 'xterm-256color',
    cols: options.cols,
    rows: options.rows,
  });
  if (!opened.ok) {
    if (options.ownsSession !== false) await session.close();
    return err(opened.error);
  }
  return ok(new ShellTerminal(session, opened.value, options));
}

class ShellTerminal implements Terminal {
  readonly ended: Promise<TerminalEnd>;
  private readonly listeners = new Set<(data: Uint8Array) => void>();
  /**
   * Output before anyone listened: the shell's first prompt can arrive while the caller is still
   * awaiting `openTerminal` (kept for the first listener; bounded, as reading pauses at highWater).
   */
  private early: Uint8Array[] = [];
  private unacknowledged = 0;
  private closedHere = false;
  private readonly highWater: number;

  constructor(
    private readonly session: VmSession,
    private readonly shell: ShellChannel,
    options: OpenTerminalOptions,
  ) {
    this.highWater = options.highWaterBytes ?? 1024 * 1024;
    const deliver = (chunk: Buffer) => {
      const data = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      this.unacknowledged += data.byteLength;
      if (this.listeners.size === 0) this.early.push(data);
      for (const l of [...this.listeners]) l(data);
      if (this.unacknowledged >= this.highWater) {
        shell.stdout.pause();
        shell.stderr.pause();
      }
    };
    shell.stdout.on('data', deliver);
    shell.stderr.on('data', deliver);
    this.ended = this.whenEnded(options.ownsSession !== false);
  }

  get sessionId(): string {
    return this.session.sessionId;
  }

  get vm(): string {
    return this.session.vm;
  }

  write(data: string | Uint8Array): void {
    if (this.shell.stdin.writableEnded || this.shell.stdin.destroyed) return;
    this.shell.stdin.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
  }

  resize(cols: number, rows: number): void {
    this.shell.resize(cols, rows);
  }

  acknowledge(bytes: number): void {
    this.unacknowledged = Math.max(0, this.unacknowledged - bytes);
    if (this.unacknowledged < this.highWater / 2) {
      this.shell.stdout.resume();
      this.shell.stderr.resume();
    }
  }

  onOutput(listener: (data: Uint8Array) => void): () => void {
    this.listeners.add(listener);
    for (const data of this.early.splice(0)) listener(data);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closedHere = true;
    this.shell.stdin.end();
    await this.session.close();
    await this.ended;
  }

  private async whenEnded(ownsSession: boolean): Promise<TerminalEnd> {
    const exit = await this.shell.exit;
    // Output that arrived before the end is handed out first, even while paused.
    await Promise.all([drained(this.shell.stdout), drained(this.shell.stderr)]);
    const end = await this.endOf(exit);
    this.listeners.clear();
    if (ownsSession) await this.session.close();
    return end;
  }

  private async endOf(exit: ExitInfo): Promise<TerminalEnd> {
    if (exit.exitStatus !== undefined) return { kind: 'exited', exitStatus: exit.exitStatus };
    if (exit.exitSignal) return { kind: 'signal', signal: exit.exitSignal };
    if (this.closedHere) return { kind: 'closed' };
    const closed = await sessionEnd(this.session, SESSION_REASON_WAIT_MS);
    if (this.closedHere || (closed && !closed.error && !exit.error)) return { kind: 'closed' };
    if (closed?.error?.code === 'revoked') return { kind: 'revoked', error: closed.error };
    if (closed?.error) return { kind: 'session_lost', error: closed.error };
    const why = exit.error?.message ?? exit.errorMessage;
    return {
      kind: 'session_lost',
      error: {
        code: 'session_closed',
        sessionId: this.session.sessionId,
        message: `the remote side on ${this.session.vm} ended without an exit status${why ? `: ${why}` : ''}`,
      },
    };
  }
}

/** Resolves once `r` has handed out all it holds (or was destroyed); resumes a paused stream to get there. */
function drained(r: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (r.readableEnded || r.destroyed) return resolve();
    r.once('end', resolve);
    r.once('close', resolve);
    r.resume();
  });
}

function sessionEnd(session: VmSession, ms: number): Promise<SessionClosedEvent | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    session.onClosed((e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
}
