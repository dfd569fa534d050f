import { performance } from 'node:perf_hooks';
import { forwardConnectFailure } from '@airlock/shared/ssh';
import type { ChannelError, VmSession } from '../session/types.js';

/** What a real `direct-tcpip` connection to a port inside the VM showed. */
export type ProbeOutcome =
  /**
   * The agent connected to the service. `answered`: it sent bytes; `closed`: it ended the
   * connection after our end of stream; `silent`: it kept the connection open and said nothing
   * (an agent that cannot connect says so within its connect timeout, 3 s by default).
   */
  | { reachable: true; how: 'answered' | 'closed' | 'silent'; ms: number }
  /** The agent could not connect: the errno it reported (`ECONNREFUSED`: nothing listens). */
  | { reachable: false; connectFailed: string; ms: number }
  /** The channel could not be opened, or the session ended under it. */
  | { reachable: false; error: ChannelError | { code: 'session_closed'; message: string }; ms: number };

/**
 * Opens a forwarded connection to 127.0.0.1:`port` inside the VM, as `airlock forward` does, and
 * watches what comes back. The agent accepts the channel at once and connects afterwards; when the
 * connect fails it closes the channel with the `connect-failed@airlock` signal and the errno. We
 * send our end of stream straight away (no bytes), so a service that reads sees a client that
 * had nothing to say and usually closes — a quick answer either way. `waitMs` should exceed the
 * agent's connect timeout: a channel still open then was connected.
 */
export async function probeForward(session: VmSession, port: number, waitMs: number): Promise<ProbeOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const opened = await session.openDirectTcpip(port);
  if (!opened.ok) return { reachable: false, error: opened.error, ms: elapsed() };
  const channel = opened.value;
  return new Promise<ProbeOutcome>((resolve) => {
    let settled = false;
    const done = (outcome: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      for (const d of subscriptions) d.dispose();
      void channel.close().catch(() => {});
      resolve(outcome);
    };
    const subscriptions = [
      channel.onDataReceived((data) => {
        channel.adjustWindow(data.length);
        done({ reachable: true, how: 'answered', ms: elapsed() });
      }),
      channel.onEof(() => done({ reachable: true, how: 'closed', ms: elapsed() })),
      channel.onClosed((e) => {
        const connectFailed = forwardConnectFailure(e);
        if (connectFailed) return done({ reachable: false, connectFailed, ms: elapsed() });
        if (session.isClosed)
          return done({
            reachable: false,
            error: { code: 'session_closed', message: `the session to ${session.vm} ended during the probe` },
            ms: elapsed(),
          });
        // Closed without a word after a connection: the service reset it. It was there.
        done({ reachable: true, how: 'closed', ms: elapsed() });
      }),
    ];
    const timer = setTimeout(() => done({ reachable: true, how: 'silent', ms: elapsed() }), waitMs);
    // An empty send is the library's SSH_MSG_CHANNEL_EOF.
    channel.send(Buffer.alloc(0)).catch(() => {});
  });
}
