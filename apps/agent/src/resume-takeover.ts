import { CloseCode } from '@airlock/shared';
import { printableText } from '@airlock/shared';
import { releaseSession, startSshSession } from '@airlock/shared/ssh';
import type { Logger } from 'pino';
import { closeDataSocket, type SessionDataSocket } from './data-socket.js';
import type { AgentSshSession } from './ssh-session.js';

/**
 * The SSH side of one resume, on its new connection: a transport session whose only use is the
 * client's reconnect request, which (proving it holds the session's keys) moves the connection
 * into `ssh`. Never throws; a failed handshake closes the connection with the reason, and one
 * that has not taken over within `timeoutMs` is given up — but only while `stillPending()`: once
 * the session took the connection over, closing it here would end the session itself.
 */
export async function takeOverConnection(o: {
  ssh: AgentSshSession;
  socket: SessionDataSocket;
  stillPending: () => boolean;
  timeoutMs: number;
  log: Logger;
}): Promise<void> {
  const { socket, log } = o;
  const transport = o.ssh.resumeTransport();
  let failed = false;
  /** Closes the connection with the reason, once, and audits it. */
  const fail = (why: string) => {
    if (failed) return Promise.resolve();
    failed = true;
    const reason = `resume failed: ${printableText(why, 200)}`;
    log.warn({ audit: 'resume-failed' }, reason);
    return closeDataSocket(socket.ws, CloseCode.protocolError, reason);
  };
  let settled = false;
  const giveUp = setTimeout(() => {
    if (settled || !o.stillPending()) return;
    void fail(`did not complete within ${o.timeoutMs} ms`);
    releaseSession(transport);
  }, o.timeoutMs);
  const settle = () => {
    settled = true;
    clearTimeout(giveUp);
    resumed.dispose();
  };
  // Settled once, the listener on the session goes, or every resume would keep its transport
  // session, socket and the messages it carried (measured: +200 MiB in a 20-minute soak).
  const resumed = o.ssh.onResumed(settle);
  transport.onClosed((e) => {
    // Read before settling: the library closes the transport in the middle of the hand-over
    // (the session is marked reconnecting while its connection is moved), and only then says
    // the session resumed. That close is the hand-over, not a failure. The flag is the
    // library's own state, which nothing the peer sends can set.
    const handedOver = o.ssh.handingOver;
    settle();
    if (handedOver || !o.stillPending()) return;
    // Said here, synchronously: right after this event the library ends the stream, which would
    // close the socket without a reason.
    void fail(e.message || 'the resume connection closed');
  });
  const started = await startSshSession(transport, socket.stream);
  if (started.ok) return;
  settle();
  await fail(started.error.message);
  releaseSession(transport);
}
