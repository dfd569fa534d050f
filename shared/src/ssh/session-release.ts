import type { SshSession } from '@microsoft/dev-tunnels-ssh';

/**
 * Releases a session's keep-alive timer. dev-tunnels-ssh 3.12.42: `close()` sets `disposed`
 * before calling `dispose()`, whose timer cleanup only runs when `disposed` was still false —
 * so every closed session keeps a keep-alive timeout (15 s here) pending, which holds a
 * process (test runner, CLI) open that long. Idempotent; call after close or on `onClosed`.
 */
export function releaseSession(session: SshSession): void {
  clearKeepAliveTimer(session);
  session.dispose();
}

/** The timer part alone, for a session that is already closed (its `onClosed`). */
export function clearKeepAliveTimer(session: SshSession): void {
  const s = session as unknown as { keepAliveTimer?: NodeJS.Timeout };
  if (s.keepAliveTimer) {
    clearTimeout(s.keepAliveTimer);
    s.keepAliveTimer = undefined;
  }
}
