import type { Logger } from 'pino';
import type { AuditRecorder } from '../audit/recorder.js';
import type { RelayStore } from '../store/types.js';
import type { DataPlaneObserver } from './observer.js';

/**
 * Turns data-plane events into session records and audit entries (open; close with bytes,
 * duration and reason). The pairer calls observers synchronously on the hot path, so the writes
 * are started here and finish in the background; a failed write is logged, never thrown.
 */
export function sessionRecorder(store: RelayStore, audit: AuditRecorder, logger: Logger): DataPlaneObserver {
  const background = (what: string, sid: string, p: Promise<unknown>) =>
    void p.catch((error: unknown) =>
      logger.error({ sid, error: (error as Error).message }, `could not record ${what}`),
    );
  return {
    onSessionPaired: ({ sid, vm, user, resumed }) => {
      if (resumed) {
        background('session resume', sid, store.sessions.markResumed(sid));
        background(
          'session resume',
          sid,
          audit.record({ type: 'session.resume', actor: `user:${user}`, outcome: 'success', sid, data: { vm } }),
        );
        return;
      }
      background('session open', sid, store.sessions.markOpened(sid));
      background(
        'session open',
        sid,
        audit.record({ type: 'session.open', actor: `user:${user}`, outcome: 'success', sid, data: { vm } }),
      );
    },
    onSessionClosed: (stats) => {
      if (stats.interrupted) {
        const bytes = { bytesFromClient: stats.bytesUp, bytesFromAgent: stats.bytesDown };
        background('session interruption', stats.sid, store.sessions.markInterrupted(stats.sid, bytes));
        background(
          'session interruption',
          stats.sid,
          audit.record({
            type: 'session.interrupt',
            actor: `user:${stats.user}`,
            outcome: 'info',
            sid: stats.sid,
            data: { vm: stats.vm, ...bytes, durationMs: stats.durationMs, reason: stats.reason },
          }),
        );
        return;
      }
      background(
        'session close',
        stats.sid,
        store.sessions.markEnded(stats.sid, {
          reason: stats.reason,
          bytesFromClient: stats.bytesUp,
          bytesFromAgent: stats.bytesDown,
        }),
      );
      background(
        'session close',
        stats.sid,
        audit.record({
          type: 'session.close',
          actor: `user:${stats.user}`,
          // A side closed it because the other broke the protocol (or after a bug): not a normal end.
          outcome: stats.failed ? 'failure' : 'info',
          sid: stats.sid,
          data: {
            vm: stats.vm,
            paired: stats.paired,
            bytesFromClient: stats.bytesUp,
            bytesFromAgent: stats.bytesDown,
            durationMs: stats.durationMs,
            reason: stats.reason,
          },
        }),
      );
    },
  };
}

/** Runs several observers as one (the recorder plus a test's frame observer). */
export function combineObservers(...observers: (DataPlaneObserver | undefined)[]): DataPlaneObserver {
  const list = observers.filter((o): o is DataPlaneObserver => !!o);
  const withFrames = list.filter((o) => o.onFrame);
  return {
    ...(withFrames.length
      ? { onFrame: (sid, dir, data) => withFrames.forEach((o) => o.onFrame!(sid, dir, data)) }
      : {}),
    onSessionPaired: (s) => list.forEach((o) => o.onSessionPaired?.(s)),
    onSessionClosed: (s) => list.forEach((o) => o.onSessionClosed?.(s)),
  };
}
