import type { SshChannel, SshChannelClosedEventArgs } from '@microsoft/dev-tunnels-ssh';

/**
 * The `exit-signal` name (RFC 4254 §6.10 allows `name@domain` for local extensions) with which
 * the agent closes an accepted `direct-tcpip` channel whose target it could not connect to; the
 * signal's error message carries the system error code (`ECONNREFUSED`, `ETIMEDOUT`, …).
 *
 * Why not refuse the channel open instead, as OpenSSH does: dev-tunnels-ssh handles one message
 * at a time per session, so the agent must answer a channel open at once and connect afterwards
 * (a 3 s connect would stall every other channel of the session). The library delivers the
 * signal name and message in the peer's `onClosed` event, so no parsing of our own is needed.
 */
export const FORWARD_CONNECT_FAILED_SIGNAL = 'connect-failed@airlock';

/** What the agent may put in the signal's message: an errno-style code, nothing else. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,31}$/;

/** Closes a forward channel saying why the target could not be reached. */
export function closeForwardConnectFailed(channel: SshChannel, code: string): Promise<void> {
  return channel.close(FORWARD_CONNECT_FAILED_SIGNAL, ERROR_CODE.test(code) ? code : 'EUNKNOWN');
}

/**
 * The error code if the channel was closed because the far side could not connect to the
 * forward's target; undefined for any other close. A code that is not errno-shaped (the far side
 * is not trusted to send printable text) becomes `EUNKNOWN`.
 */
export function forwardConnectFailure(e: SshChannelClosedEventArgs): string | undefined {
  if (e.exitSignal !== FORWARD_CONNECT_FAILED_SIGNAL) return undefined;
  return e.errorMessage && ERROR_CODE.test(e.errorMessage) ? e.errorMessage : 'EUNKNOWN';
}
