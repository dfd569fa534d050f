import { connectPinned } from '@airlock/shared';
import type { TLSSocket } from 'node:tls';

/** A pinned TLS connection to the relay that sends bytes as given and collects the answer. */
export interface RawConnection {
  socket: TLSSocket;
  /** Everything received so far. */
  received(): Buffer;
  /** Resolves when `test` holds for what was received, the socket closes, or `ms` pass. */
  until(test: (b: Buffer) => boolean, ms: number): Promise<void>;
  closed: Promise<void>;
  close(): void;
}

export async function rawConnect(
  url: string,
  pin: string,
  clientCert?: { certPem: string; keyPem: string },
): Promise<RawConnection> {
  const u = new URL(url);
  const socket = await connectPinned({
    host: u.hostname,
    port: Number(u.port),
    pin,
    ...(clientCert ? { clientCert } : {}),
    timeoutMs: 10_000,
  });
  const chunks: Buffer[] = [];
  let waiters: (() => void)[] = [];
  const wake = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  socket.on('data', (d: Buffer) => {
    chunks.push(d);
    wake();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((r) =>
    socket.once('close', () => {
      r();
      wake();
    }),
  );
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  const received = () => Buffer.concat(chunks);
  return {
    socket,
    received,
    closed,
    async until(test, ms) {
      const deadline = Date.now() + ms;
      while (!test(received()) && !isClosed && Date.now() < deadline) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.max(1, deadline - Date.now()));
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    close: () => socket.destroy(),
  };
}

/** The status code of an HTTP response at the start of `b`, if one is there. */
export function httpStatus(b: Buffer): number | undefined {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(b.subarray(0, 32).toString('latin1'));
  return m ? Number(m[1]) : undefined;
}
