import { CloseCode } from '@airlock/shared';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { closeDataSocket } from './data-socket.js';
import type { AgentSshSession } from './ssh-session.js';

/** A session this agent holds: connected, or waiting for a resume. */
export interface HostedSession {
  /** The session's current data socket (a resume replaces it). */
  ws: WebSocket;
  ssh?: AgentSshSession;
  user: string;
  since: string;
  log: Logger;
  /** Set while its connection is down and it waits for a resume. */
  suspended?: { since: number; reason: string; timer: NodeJS.Timeout };
}

export interface HostedSessionsOptions {
  /** How long a session whose connection dropped is kept for a resume. */
  resumeWindowMs: number;
  /** Lets go of what the refusal reporter keeps for a session. */
  onForgotten: (sid: string) => void;
  /** Told whenever a session starts, ends, is suspended or resumes (the status file). */
  onSessionsChanged?: () => void;
}

/**
 * The sessions an agent holds and their resume windows. Whoever ends a session does so through
 * `forget`, which ignores an entry that is no longer the session's (a resume or a new dial
 * replaced it), so a late close of an old connection cannot end its successor.
 */
export class HostedSessions {
  private readonly sessions = new Map<string, HostedSession>();

  constructor(private readonly opts: HostedSessionsOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  get(sid: string): HostedSession | undefined {
    return this.sessions.get(sid);
  }

  has(sid: string): boolean {
    return this.sessions.has(sid);
  }

  add(sid: string, entry: HostedSession): void {
    this.sessions.set(sid, entry);
    this.opts.onSessionsChanged?.();
  }

  /** The sessions held now: id, the user the ticket names, since when, and whether it waits for a resume. */
  list(): { sid: string; user: string; since: string; suspended?: boolean }[] {
    return [...this.sessions].map(([sid, s]) => ({
      sid,
      user: s.user,
      since: s.since,
      ...(s.suspended ? { suspended: true } : {}),
    }));
  }

  forget(sid: string, entry: HostedSession): void {
    if (this.sessions.get(sid) !== entry) return;
    clearTimeout(entry.suspended?.timer);
    this.sessions.delete(sid);
    this.opts.onForgotten(sid);
    this.opts.onSessionsChanged?.();
  }

  /** Keeps a session whose connection is gone for the resume window, then ends it saying why. */
  suspend(sid: string, entry: HostedSession, reason: string): void {
    if (entry.suspended) return;
    const windowMs = this.opts.resumeWindowMs;
    const timer = setTimeout(() => {
      const text = `could not resume: not resumed within ${Math.round(windowMs / 1000)} s of its connection dropping`;
      entry.log.warn({ audit: 'session-expired' }, text);
      void entry.ssh?.close(text);
      // A resume connection may be open and still waiting for the client's reconnect: it goes too.
      void closeDataSocket(entry.ws, CloseCode.agentRefused, text);
      this.forget(sid, entry);
    }, windowMs);
    entry.suspended = { since: Date.now(), reason, timer };
    entry.log.info({ reason, windowMs }, 'session connection lost; keeping the session for a resume');
    this.opts.onSessionsChanged?.();
  }

  /** The session's client reconnected: its window stops. */
  resumed(entry: HostedSession): void {
    const was = entry.suspended;
    clearTimeout(was?.timer);
    entry.suspended = undefined;
    entry.log.info(
      { audit: 'session-resumed', ...(was ? { downMs: Date.now() - was.since } : {}) },
      'session resumed over a new connection',
    );
    this.opts.onSessionsChanged?.();
  }

  /** Ends every session: closes SSH (children get SIGHUP) and the data sockets. */
  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    await Promise.all(
      all.map(async ({ ws, ssh, suspended }) => {
        clearTimeout(suspended?.timer);
        await ssh?.close('agent shutting down');
        const closed = new Promise<void>((r) =>
          ws.readyState === WebSocket.CLOSED ? r() : ws.once('close', () => r()),
        );
        if (ws.readyState === WebSocket.OPEN) ws.close(CloseCode.shuttingDown, 'agent shutting down');
        else ws.terminate();
        const t = setTimeout(() => ws.terminate(), 1000);
        await closed;
        clearTimeout(t);
      }),
    );
    this.sessions.clear();
    this.opts.onSessionsChanged?.();
  }
}
