import type { Readable, Writable } from 'node:stream';
import type { SshChannel } from '@microsoft/dev-tunnels-ssh';

export interface BridgeEnds {
  /** Bytes from here go into the channel; its 'end' becomes channel EOF. */
  readable: Readable;
  /** Channel data is written here; channel EOF becomes `end()`. */
  writable: Writable;
}

export interface BridgeOptions {
  /** Called once when both directions are finished or either side failed. */
  onDone?: (error?: Error) => void;
}

/**
 * Copies bytes between an SSH channel and a Node stream pair (a TCP socket, or a child's
 * stdin/stdout), keeping TCP half-close: the library's own forwarding closes the whole channel
 * on local end and ignores incoming EOF (notes, trap 1), so a client that sends a request and
 * then shuts down its write side would never get the reply.
 *
 * Flow control both ways: channel data is acknowledged (`adjustWindow`) only once the writable
 * has accepted it, and the readable is paused while a channel send waits for window.
 */
export function bridgeChannel(channel: SshChannel, ends: BridgeEnds, options: BridgeOptions = {}): void {
  const { readable, writable } = ends;
  let localEnded = false; // we sent EOF on the channel
  let remoteEnded = false; // the channel told us EOF
  let finished = false;
  let sendChain: Promise<void> = Promise.resolve();

  const finish = (error?: Error): void => {
    if (finished) return;
    finished = true;
    if (error) {
      readable.destroy();
      writable.destroy();
      void channel.close().catch(() => {});
    } else {
      void channel.close().catch(() => {});
    }
    options.onDone?.(error);
  };
  const maybeDone = (): void => {
    if (localEnded && remoteEnded) finish();
  };

  channel.onDataReceived((data) => {
    // The library reuses its receive buffer: copy before handing the bytes to a stream queue.
    const copy = Buffer.from(data);
    const n = data.length;
    if (writable.write(copy)) channel.adjustWindow(n);
    else writable.once('drain', () => channel.adjustWindow(n));
  });
  channel.onEof(() => {
    remoteEnded = true;
    writable.end();
    maybeDone();
  });
  channel.onClosed(() => {
    if (finished) return;
    finished = true;
    readable.destroy();
    if (!writable.writableEnded) writable.end();
    options.onDone?.();
  });

  readable.on('data', (chunk: Buffer) => {
    readable.pause();
    sendChain = sendChain
      .then(() => channel.send(chunk))
      .then(
        () => {
          if (!finished) readable.resume();
        },
        (e: unknown) => finish(e instanceof Error ? e : new Error(String(e))),
      );
  });
  readable.on('end', () => {
    sendChain = sendChain.then(async () => {
      if (finished) return;
      // An empty send is how the library sends SSH_MSG_CHANNEL_EOF.
      await channel.send(Buffer.alloc(0));
      localEnded = true;
      maybeDone();
    });
    sendChain.catch((e: unknown) => finish(e instanceof Error ? e : new Error(String(e))));
  });
  readable.on('error', (e) => finish(e));
  writable.on('error', (e) => finish(e));
}
