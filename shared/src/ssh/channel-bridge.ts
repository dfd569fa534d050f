import type { Socket } from 'node:net';
import { SshChannel, type SshChannelClosedEventArgs } from '@microsoft/dev-tunnels-ssh';
import { resetSocket } from '../socket-reset.js';
import { forwardConnectFailure } from './forward-failure.js';
import { readChunks } from './reused-reads.js';

/**
 * Whether channel data arrives in a buffer the library never reuses. Our patch of the library
 * (patches/, level 1) makes it so for AEAD ciphers, the only kind `createSshConfig` allows; the
 * unpatched library hands out a view of its reused receive buffer, which must be copied before
 * a socket may queue it.
 */
export const RECEIVED_DATA_IS_OWNED =
  ((SshChannel as unknown as { airlockPatchLevel?: number }).airlockPatchLevel ?? 0) >= 1;

/** Channel data as something a socket or pipe may queue: itself when the library never reuses it, else a copy. */
export function ownedChannelData(data: Buffer): Buffer {
  return RECEIVED_DATA_IS_OWNED ? data : Buffer.from(data);
}

/** How a bridged connection ended. */
export type BridgeOutcome =
  /** Both directions ended with an end of stream (FIN ↔ channel EOF): a clean close. */
  | { kind: 'completed' }
  /**
   * The local socket failed, or was destroyed before its end of stream. The channel was closed
   * without EOF, so the far side resets its socket too.
   */
  | { kind: 'local-failed'; reason: string }
  /**
   * The channel ended before the far side's end of stream — the session was lost, the far side's
   * socket failed, or (`connectFailed`) the far side could not reach the forward's target. The
   * local socket was reset (RST), never ended with a FIN: to a protocol without its own length
   * framing, a FIN would make a truncated transfer look complete.
   */
  | { kind: 'channel-lost'; reason: string; connectFailed?: string };

export interface BridgeOptions {
  /** Called once, when both directions are finished or either side failed. */
  onDone?: (outcome: BridgeOutcome) => void;
}

/**
 * Copies bytes between an SSH channel and a TCP socket (opened with `allowHalfOpen`), keeping
 * TCP half-close: the library's own forwarding closes the whole channel on local end and ignores
 * incoming EOF (docs/dev-tunnels-ssh.md, trap 1), so a client that sends a request and then shuts down its write
 * side would never get the reply.
 *
 * Only a real end of stream becomes one on the other side: socket `end` → channel EOF, channel
 * EOF → socket `end()`. A channel that closes before its EOF resets the socket; a socket that
 * fails closes the channel without EOF, which the far side's bridge turns into a reset.
 *
 * Flow control both ways: channel data is acknowledged (`adjustWindow`) only once the socket has
 * taken it (one `drain` listener, however many chunks wait), and the socket is paused while a
 * channel send waits for window.
 */
export function bridgeChannel(channel: SshChannel, socket: Socket, options: BridgeOptions = {}): void {
  let localEndSeen = false; // the socket said end of stream
  let localEnded = false; // … and we sent EOF on the channel
  let remoteEnded = false; // the channel told us EOF
  let finished = false;
  let sendChain: Promise<void> = Promise.resolve();
  let unacknowledged = 0;
  let waitingForDrain = false;

  const done = (outcome: BridgeOutcome): void => options.onDone?.(outcome);
  const completed = (): void => {
    if (finished) return;
    finished = true;
    void channel.close().catch(() => {});
    done({ kind: 'completed' });
  };
  const localFailed = (reason: string): void => {
    if (finished) return;
    finished = true;
    socket.destroy();
    // A close without EOF: the far side resets its end.
    void channel.close().catch(() => {});
    done({ kind: 'local-failed', reason });
  };
  const channelLost = (reason: string, connectFailed?: string): void => {
    if (finished) return;
    finished = true;
    resetSocket(socket);
    done({ kind: 'channel-lost', reason, ...(connectFailed ? { connectFailed } : {}) });
  };
  const maybeCompleted = (): void => {
    if (localEnded && remoteEnded) completed();
  };

  const onDrain = (): void => {
    waitingForDrain = false;
    const n = unacknowledged;
    unacknowledged = 0;
    if (!finished && n > 0) channel.adjustWindow(n);
  };
  channel.onDataReceived((data) => {
    if (finished) return;
    const accepted = socket.write(ownedChannelData(data));
    if (accepted && !waitingForDrain) return channel.adjustWindow(data.length);
    unacknowledged += data.length;
    if (!waitingForDrain) {
      waitingForDrain = true;
      socket.once('drain', onDrain);
    }
  });
  channel.onEof(() => {
    if (finished) return;
    remoteEnded = true;
    socket.end();
    maybeCompleted();
  });
  channel.onClosed((e) => {
    if (finished) return;
    // The far side closes after both ends of stream: a normal end, whether or not our own EOF
    // has gone out yet.
    if (remoteEnded && localEndSeen) return completed();
    channelLost(describeChannelClose(e), forwardConnectFailure(e));
  });

  // The chunk may live in a buffer the socket reuses (reused-reads.ts): the socket stays paused
  // until the channel has taken the bytes, and send() copies them before it resolves.
  readChunks(socket, (chunk: Buffer) => {
    socket.pause();
    sendChain = sendChain
      .then(() => channel.send(chunk))
      .then(
        () => {
          if (!finished) socket.resume();
        },
        (e: unknown) => channelLost(`sending on the channel failed: ${(e as Error).message}`),
      );
  });
  const endOfStream = (): void => {
    localEndSeen = true;
    sendChain = sendChain.then(async () => {
      if (finished) return;
      // An empty send is how the library sends SSH_MSG_CHANNEL_EOF.
      await channel.send(Buffer.alloc(0));
      localEnded = true;
      maybeCompleted();
    });
    sendChain.catch((e: unknown) => channelLost(`sending EOF on the channel failed: ${(e as Error).message}`));
  };
  socket.on('end', () => {
    // libuv reports a reset that arrives right behind data as a clean end (POLLHUP after a
    // partial read: the kernel's ECONNRESET is never read). So an end is checked before it
    // becomes channel EOF: the kernel fails a zero-length write on a reset connection and
    // accepts it, sending nothing, on a half-closed one. (Once we have ended our side too, no
    // write is possible; both directions then end as they are.)
    if (socket.writableEnded || socket.destroyed) return endOfStream();
    socket.write(NOTHING, (e) => {
      if (!e) endOfStream(); // on error, the socket's 'error' handler resets the channel
    });
  });
  socket.on('error', (e: NodeJS.ErrnoException) => localFailed(`local socket error: ${e.code ?? e.message}`));
  socket.on('close', () => {
    // After both ends of stream the socket closes by itself; before that, someone destroyed it.
    if (!(localEndSeen && remoteEnded)) localFailed('local socket closed before the end of the stream');
  });
}

const NOTHING = Buffer.alloc(0);
const MAX_REASON = 200;

/** One line for the log: why a channel ended without its end of stream. */
function describeChannelClose(e: SshChannelClosedEventArgs): string {
  const failed = forwardConnectFailure(e);
  if (failed) return `the far side could not connect to the target (${failed})`;
  if (e.error) return `the channel failed: ${e.error.message}`.slice(0, MAX_REASON);
  // dev-tunnels-ssh reports a channel torn down with its session as signal "SIGABRT".
  if (e.exitSignal === 'SIGABRT' && e.exitStatus === undefined)
    return `the session ended (${e.errorMessage ?? 'no reason given'})`.slice(0, MAX_REASON);
  if (e.exitSignal) return `the far side closed the channel with signal ${e.exitSignal}`.slice(0, MAX_REASON);
  return 'the far side closed the channel before the end of the stream';
}
