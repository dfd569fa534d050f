import type { AgentToRelay } from '@airlock/shared';

export type ChannelRefusedMessage = Extract<AgentToRelay, { type: 'channel-refused' }>;

/** A channel open or forward the agent denied inside a session (the relay cannot see these). */
export interface ChannelRefusal {
  /** Channel type (`direct-tcpip`, `session`, …) or the refused request (`tcpip-forward`). */
  channel: string;
  /** For forwards, `host:port` the client asked for; for session channels, the refused request (`subsystem "sftp"`, `pty-req`). */
  target?: string;
  reason: string;
}

export interface RefusalReporterOptions {
  /** Sends on the control link; false when the link is down (the refusal is then only logged locally). */
  send: (msg: ChannelRefusedMessage) => boolean;
  /** Refusals reported per session per second (default 5). */
  perSecond?: number;
  now?: () => number;
}

export const DEFAULT_REFUSALS_PER_SECOND = 5;

interface Window {
  startedAt: number;
  sent: number;
  /** Refusals held back by the limit, announced with the next report or the end-of-session summary. */
  carried: number;
}

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

/**
 * Reports channel refusals to the relay for its audit log, at most `perSecond` per session per
 * second: a client opening refused channels in a loop must not be able to make the agent flood
 * the relay. What is held back is counted, mentioned in the next report, and summed up once when
 * the session ends.
 */
export class RefusalReporter {
  private readonly windows = new Map<string, Window>();
  private readonly perSecond: number;
  private readonly now: () => number;

  constructor(private readonly opts: RefusalReporterOptions) {
    this.perSecond = opts.perSecond ?? DEFAULT_REFUSALS_PER_SECOND;
    this.now = opts.now ?? Date.now;
  }

  /** 'sent', 'limited' (over the per-second budget) or 'link-down'. */
  report(sessionId: string, r: ChannelRefusal): 'sent' | 'limited' | 'link-down' {
    const now = this.now();
    let w = this.windows.get(sessionId);
    if (!w) this.windows.set(sessionId, (w = { startedAt: now, sent: 0, carried: 0 }));
    if (now - w.startedAt >= 1000) {
      w.startedAt = now;
      w.sent = 0;
    }
    if (w.sent >= this.perSecond) {
      w.carried++;
      return 'limited';
    }
    w.sent++;
    const note = w.carried > 0 ? ` (+${w.carried} earlier refusals not reported: rate limit)` : '';
    const sent = this.opts.send({
      type: 'channel-refused',
      sessionId,
      channel: clip(r.channel, 64),
      ...(r.target !== undefined ? { target: clip(r.target, 300) } : {}),
      reason: clip(r.reason, 200 - note.length) + note,
    });
    // A refusal the link could not carry is still in the agent's own log.
    if (!sent) return 'link-down';
    w.carried = 0;
    return 'sent';
  }

  /** The session ended: one summary for refusals that were held back, then forget it. */
  endSession(sessionId: string): void {
    const w = this.windows.get(sessionId);
    this.windows.delete(sessionId);
    if (!w || w.carried === 0) return;
    this.opts.send({
      type: 'channel-refused',
      sessionId,
      channel: 'summary',
      reason: `${w.carried} further channel refusals in this session were not reported (rate limit)`,
    });
  }
}
