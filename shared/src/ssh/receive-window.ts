import { SshChannel } from '@microsoft/dev-tunnels-ssh';

/**
 * How many windows an honest peer may have in flight: one with our patch of the library (level
 * 2), nearly two without it (see below) — so an unpatched install never ends honest sessions.
 */
const WINDOWS_IN_FLIGHT =
  ((SshChannel as unknown as { airlockPatchLevel?: number }).airlockPatchLevel ?? 0) >= 2 ? 1 : 2;

/**
 * Calls `onExceeded` (once) when the peer has sent a channel more data than the window this side
 * granted: bytes received and not yet given back with `adjustWindow` above the channel's
 * `maxWindowSize`.
 *
 * The SSH library hands every data message to the channel's handlers without checking the
 * window, and Airlock's handlers rely on the window to bound what they hold (input for a process
 * that is not reading, bytes for a socket that is not draining): a client that ignores the window
 * could fill the agent's memory, and an agent Connect's. OpenSSH ends the connection in this case
 * ("peer ignored channel window"); so do the callers.
 *
 * Install it when the channel is made, before the handlers that consume its data: the count is
 * then exact at each message. The check relies on the library starting a channel's window at its
 * configured `maxWindowSize` (our patch of it; before, the first adjustment granted nearly a second
 * window, so an honest peer could have had up to twice the window in flight).
 */
export function enforceReceiveWindow(
  channel: SshChannel,
  onExceeded: (unconsumed: number, window: number) => void,
): void {
  let unconsumed = 0;
  let exceeded = false;
  const adjust = channel.adjustWindow.bind(channel);
  channel.adjustWindow = (messageLength: number) => {
    unconsumed -= messageLength;
    adjust(messageLength);
  };
  const received = (n: number) => {
    unconsumed += n;
    if (exceeded || unconsumed <= WINDOWS_IN_FLIGHT * channel.maxWindowSize) return;
    exceeded = true;
    onExceeded(unconsumed, channel.maxWindowSize);
  };
  channel.onDataReceived((data) => received(data.length));
  channel.onExtendedDataReceived((e) => received(e.data.length));
}
