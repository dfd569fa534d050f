import { WebSocket } from 'ws';
import type { Logger } from 'pino';
import { CloseCode, closeReason, isResumableClose } from '@airlock/shared';
import type { Heartbeat } from './heartbeat.js';
import type { DataPlaneObserver, SessionCloseStats, SessionSnapshot } from './observer.js';
import { EarlyFrameHold } from './early-frames.js';
import { PendingSessionQuota, type QuotaRefusal } from './pending-quota.js';
import { ResumeWindows } from './resume-windows.js';
import { SessionPipe, type FlowLimits } from './session-pipe.js';

export type Side = 'agent' | 'connect';

export interface PairerOptions extends FlowLimits {
  unpairedTimeoutMs: number;
  /** How long a session created by the API waits for its first socket. */
  pendingTtlMs: number;
  /** Sessions not yet paired that one user may have at a time. */
  maxPendingSessionsPerUser: number;
  /** Sessions not yet paired, over all users. */
  maxPendingSessions: number;
  /** How long a dropped session is kept resumable before it is recorded as ended. */
  resumeWindowMs: number;
  logger: Logger;
  heartbeat: Heartbeat;
  observer?: DataPlaneObserver;
}

interface Session {
  sid: string;
  vm: string;
  user: string;
  /** Thumbprint of the client certificate the user's access token is bound to; Connect's data socket must present it. */
  certThumbprint?: string;
  createdAt: number;
  state: 'pending' | 'paired' | 'refused';
  refusedReason?: string;
  agent?: WebSocket;
  connect?: WebSocket;
  pipe?: SessionPipe;
  lifetimeTimer?: NodeJS.Timeout;
  unpairedTimer?: NodeJS.Timeout;
  /** Set when the relay closes a socket itself, so the close event does not overwrite the reason. */
  endReason?: string;
  /** Frames the first side sent before the other joined, held (not read further) until pairing. */
  early?: EarlyFrameHold;
  /** Counted against the pending limits until it pairs or ends. */
  countedPending: boolean;
  /** A dropped session asked for again: a failure before pairing leaves it resumable. */
  resume: boolean;
}

/** What one side may send before the other joins (an SSH version line and KEXINIT are < 4 KiB). */
const EARLY_FRAMES_LIMIT_BYTES = 256 * 1024;

export type AttachCheck = { ok: true } | { ok: false; status: number; reason: string };

export type CreateRefusal = QuotaRefusal;
export type CreateResult = { ok: true } | CreateRefusal;

const who = (side: Side) => (side === 'agent' ? 'agent' : 'Connect');

/**
 * Sessions by id, in memory: created by `POST /sessions`, joined by one agent data socket and
 * one Connect data socket in either order, then handed to a SessionPipe. Nothing here is
 * persisted — a session is only meaningful while both sockets live on this instance.
 */
export class SessionPairer {
  private readonly sessions = new Map<string, Session>();
  /** Sessions created since the revocation guard last looked (it checks each once against the store). */
  private readonly unchecked = new Set<string>();
  /** Sessions not yet paired (pending or refused). */
  private readonly pending: PendingSessionQuota;
  private readonly suspended: ResumeWindows;

  constructor(private readonly opts: PairerOptions) {
    this.pending = new PendingSessionQuota({ perUser: opts.maxPendingSessionsPerUser, total: opts.maxPendingSessions });
    this.suspended = new ResumeWindows({
      windowMs: opts.resumeWindowMs,
      onEnded: (stats) => {
        this.opts.logger.info(stats, 'session closed');
        this.notifyClosed(stats);
      },
    });
  }

  /**
   * Registers a new session unless the user, or the relay as a whole, already has as many
   * unpaired sessions as allowed: each one holds memory for about a minute and makes an agent dial.
   */
  create(s: { sid: string; vm: string; user: string; certThumbprint?: string; resume?: boolean }): CreateResult {
    const refusal = this.pending.check(s.user);
    if (refusal) {
      this.opts.logger.warn(
        {
          vm: s.vm,
          user: s.user,
          reason: refusal.reason,
          userPending: this.pending.count(s.user),
          relayPending: this.pending.count(),
        },
        'session refused: too many pending sessions',
      );
      return refusal;
    }
    const { resume = false, ...fields } = s;
    // A resume takes over whatever is left of the session's previous connection on this relay.
    const previous = this.sessions.get(s.sid);
    if (previous) this.terminate(s.sid, CloseCode.replaced, 'resumed over a new connection');
    this.suspended.release(s.sid);
    const session: Session = { ...fields, createdAt: Date.now(), state: 'pending', countedPending: true, resume };
    this.pending.take(s.user);
    session.lifetimeTimer = setTimeout(() => {
      if (!session.agent && !session.connect) this.end(session, 'nobody joined before the ticket expired');
    }, this.opts.pendingTtlMs);
    this.sessions.set(s.sid, session);
    this.unchecked.add(s.sid);
    this.opts.logger.info({ sid: s.sid, vm: s.vm, user: s.user, ...(resume ? { resume } : {}) }, 'session created');
    return { ok: true };
  }

  /** Ends a session nobody has joined yet (its creation could not be completed). */
  cancel(sid: string, reason: string): void {
    const s = this.sessions.get(sid);
    if (s && !s.agent && !s.connect) this.end(s, reason);
  }

  /** How many sessions are waiting to pair: for `user`, or in total. */
  pendingCount(user?: string): number {
    return this.pending.count(user);
  }

  /** What the upgrade router needs to check a ticket and the client certificate, if the session exists. */
  describe(sid: string): { vm: string; user: string; certThumbprint?: string } | undefined {
    const s = this.sessions.get(sid);
    return s && { vm: s.vm, user: s.user, ...(s.certThumbprint ? { certThumbprint: s.certThumbprint } : {}) };
  }

  /** Closes one session from the relay's side (revocation, an admin's kill), with the reason sent to both sides. */
  terminate(sid: string, code: number, reason: string): boolean {
    const s = this.sessions.get(sid);
    if (!s) return false;
    this.end(s, reason, false, isResumableClose(code));
    s.pipe?.close(code, reason);
    for (const ws of [s.agent, s.connect])
      if (ws && ws.readyState === WebSocket.OPEN) ws.close(code, closeReason(reason));
    return true;
  }

  /** Whether a socket for `side` may join `sid` now; `vm` is the authenticated agent's VM for the agent side. */
  canAttach(side: Side, sid: string, vm?: string): AttachCheck {
    const s = this.sessions.get(sid);
    if (!s || (side === 'agent' && s.vm !== vm))
      return { ok: false, status: 404, reason: `no pending session ${sid}${side === 'agent' ? ' for this VM' : ''}` };
    if (s[side]) return { ok: false, status: 409, reason: `session ${sid} already has a ${who(side)} side` };
    if (s.state === 'refused' && side === 'agent')
      return { ok: false, status: 409, reason: `session ${sid} was refused by the agent` };
    return { ok: true };
  }

  /** Joins an upgraded socket to its session. Call `canAttach` first, in the same tick. */
  attach(side: Side, sid: string, ws: WebSocket): void {
    const s = this.sessions.get(sid);
    const check = this.canAttach(side, sid, s?.vm);
    if (!s || !check.ok) {
      ws.close(CloseCode.protocolError, closeReason(check.ok ? 'session is gone' : check.reason));
      return;
    }
    const log = this.opts.logger.child({ sid, vm: s.vm, user: s.user });
    ws.on('error', (error) => log.debug({ side, error: error.message }, 'data socket error'));
    this.opts.heartbeat.watch(ws, {
      exempt: () => ws.isPaused,
      onDead: () => log.warn({ side }, `${who(side)} data socket stopped answering pings; terminating`),
    });
    s[side] = ws;
    log.info({ side }, `${who(side)} joined session`);

    if (s.state === 'refused') {
      this.end(s, `agent refused the session: ${s.refusedReason}`);
      ws.close(CloseCode.agentRefused, closeReason(s.refusedReason ?? 'agent refused the session'));
      return;
    }
    const other = side === 'agent' ? s.connect : s.agent;
    if (other) return this.pair(s);

    clearTimeout(s.lifetimeTimer);
    this.holdEarlyFrames(s, side, ws, log);
    const secs = Math.round(this.opts.unpairedTimeoutMs / 100) / 10;
    const missing = who(side === 'agent' ? 'connect' : 'agent');
    s.unpairedTimer = setTimeout(() => {
      const reason = `the ${missing} did not join session ${sid} within ${secs} s`;
      this.end(s, reason);
      ws.close(CloseCode.unpairedTimeout, closeReason(reason));
    }, this.opts.unpairedTimeoutMs);
    ws.once('close', (code, reason) => {
      if (s.state === 'paired') return;
      this.end(s, `${who(side)} left before the ${missing} joined (code ${code}${reason.length ? `: ${reason}` : ''})`);
    });
  }

  /** The agent refused to dial: the waiting Connect side (now or when it arrives) is closed with the agent's reason. */
  refuse(sid: string, vm: string, reason: string): boolean {
    const s = this.sessions.get(sid);
    if (!s || s.vm !== vm || s.state !== 'pending') return false;
    s.state = 'refused';
    s.refusedReason = reason;
    this.opts.logger.info({ sid, vm, user: s.user, reason }, 'agent refused session');
    if (s.connect) {
      this.end(s, `agent refused the session: ${reason}`);
      s.connect.close(CloseCode.agentRefused, closeReason(reason));
    }
    return true;
  }

  /** The VM's agent went offline: Connect sides still waiting for that agent are told so now. */
  agentOffline(vm: string): void {
    for (const s of [...this.sessions.values()]) {
      if (s.vm !== vm || s.state === 'paired' || s.agent) continue;
      const reason = `the agent of VM ${vm} went offline before joining the session`;
      this.end(s, reason);
      s.connect?.close(CloseCode.agentOffline, closeReason(reason));
    }
  }

  snapshot(sid: string): SessionSnapshot | undefined {
    const s = this.sessions.get(sid);
    if (!s) return undefined;
    const up = s.pipe?.up;
    const down = s.pipe?.down;
    return {
      sid: s.sid,
      vm: s.vm,
      user: s.user,
      state: s.state,
      agentJoined: !!s.agent,
      connectJoined: !!s.connect,
      bytesUp: up?.bytes ?? 0,
      bytesDown: down?.bytes ?? 0,
      inFlightUp: up?.inFlight ?? 0,
      inFlightDown: down?.inFlight ?? 0,
      maxInFlightUp: up?.maxInFlight ?? 0,
      maxInFlightDown: down?.maxInFlight ?? 0,
      agentPaused: !!s.agent?.isPaused,
      connectPaused: !!s.connect?.isPaused,
      pauses: (up?.pauses ?? 0) + (down?.pauses ?? 0),
    };
  }

  /** The ids of every session held (pending or paired). */
  sessionIds(): IterableIterator<string> {
    return this.sessions.keys();
  }

  /** Sessions created since the last call that are still held; for the revocation guard. */
  takeUnchecked(): string[] {
    const sids = [...this.unchecked];
    this.unchecked.clear();
    return sids;
  }

  /** Hands a session back to the revocation guard for its next tick (its store record was not there yet). */
  recheckLater(sid: string): void {
    if (this.sessions.has(sid)) this.unchecked.add(sid);
  }

  list(): SessionSnapshot[] {
    return [...this.sessions.keys()].map((sid) => this.snapshot(sid)!);
  }

  /** Sessions whose connection dropped and that may still be resumed. */
  suspendedCount(): number {
    return this.suspended.size;
  }

  suspendedIds(): string[] {
    return this.suspended.ids();
  }

  /** Ends a session that waits to be resumed (revocation): recorded as closed with `reason`. */
  endSuspended(sid: string, reason: string): boolean {
    return this.suspended.end(sid, reason);
  }

  /** Ends every connection (relay shutdown); suspended sessions are left to the next start to close. */
  closeAll(code: number, reason: string): void {
    for (const sid of [...this.sessions.keys()]) this.terminate(sid, code, reason);
    this.suspended.releaseAll();
  }

  /**
   * The side that joins first may already be talking (SSH sends its version line at once).
   * Its frames are kept and the socket is paused until the other side is there, so nothing is
   * lost and an early side cannot make the relay buffer more than a small bound.
   */
  private holdEarlyFrames(s: Session, side: Side, ws: WebSocket, log: Logger): void {
    s.early = new EarlyFrameHold(ws, EARLY_FRAMES_LIMIT_BYTES, (bytes) => {
      log.warn({ bytes }, 'data socket sent too much before its peer joined');
      // The session goes (a late peer gets 404) and the socket is dropped at once: a paused
      // socket cannot finish a closing handshake, and buffering more of it is what we refuse.
      this.end(s, `the ${who(side)} sent more than ${EARLY_FRAMES_LIMIT_BYTES} bytes before its peer joined`);
      ws.terminate();
    });
  }

  private pair(s: Session): void {
    clearTimeout(s.unpairedTimer);
    clearTimeout(s.lifetimeTimer);
    s.state = 'paired';
    this.releasePending(s);
    const hb = this.opts.heartbeat;
    const early = s.early?.stop();
    s.early = undefined;
    s.pipe = new SessionPipe(
      s.sid,
      s.agent!,
      s.connect!,
      this.opts,
      this.opts.observer,
      (ws) => hb.touch(ws),
      (reason, failed, interrupted) => this.end(s, reason, failed, interrupted),
    );
    early?.replay();
    this.opts.logger.info({ sid: s.sid, vm: s.vm, user: s.user }, s.resume ? 'session resumed' : 'session paired');
    try {
      this.opts.observer?.onSessionPaired?.({
        sid: s.sid,
        vm: s.vm,
        user: s.user,
        ...(s.resume ? { resumed: true } : {}),
      });
    } catch (error) {
      this.opts.logger.error({ sid: s.sid, error: (error as Error).message }, 'data-plane observer threw');
    }
  }

  private releasePending(s: Session): void {
    if (!s.countedPending) return;
    s.countedPending = false;
    this.pending.release(s.user);
  }

  /**
   * Removes the session and reports it once; closing sockets is the caller's job. `interrupted`:
   * only this connection ended; the session stays resumable for the window.
   */
  private end(s: Session, reason: string, failed = false, interrupted?: boolean): void {
    if (s.endReason !== undefined) return;
    // A resume that did not pair (timeouts, the agent offline) leaves the session as it was:
    // dropped, and resumable; a session that never paired has nothing to resume.
    interrupted = interrupted === undefined ? s.resume && !s.pipe : interrupted && (!!s.pipe || s.resume);
    // The agent refused it: it does not hold the session (any more); nothing is left to resume.
    if (s.state === 'refused') interrupted = false;
    s.endReason = reason;
    s.early?.drop();
    s.early = undefined;
    clearTimeout(s.unpairedTimer);
    clearTimeout(s.lifetimeTimer);
    this.sessions.delete(s.sid);
    this.unchecked.delete(s.sid);
    this.releasePending(s);
    const started = s.pipe?.startedAt ?? s.createdAt;
    const stats: SessionCloseStats = {
      sid: s.sid,
      vm: s.vm,
      user: s.user,
      paired: !!s.pipe,
      bytesUp: s.pipe?.up.bytes ?? 0,
      bytesDown: s.pipe?.down.bytes ?? 0,
      durationMs: Date.now() - started,
      reason,
      ...(failed ? { failed } : {}),
      ...(interrupted ? { interrupted } : {}),
    };
    this.opts.logger.info(stats, interrupted ? 'session interrupted; resumable' : 'session closed');
    if (interrupted) this.suspended.hold(s.sid, s.vm, s.user);
    this.notifyClosed(stats);
  }

  private notifyClosed(stats: SessionCloseStats): void {
    try {
      this.opts.observer?.onSessionClosed?.(stats);
    } catch (error) {
      this.opts.logger.error({ sid: stats.sid, error: (error as Error).message }, 'data-plane observer threw');
    }
  }
}
