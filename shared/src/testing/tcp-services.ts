import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP "digest service": reads everything until the client half-closes, then answers with the
 * byte count and the SHA-256 (hex) of what it got, `<length><separator><sha256>`, and closes.
 * It proves that bytes arrive intact and that a half-close travels end to end.
 */
export function createDigestServer(options: { separator?: string } = {}): Server {
  const separator = options.separator ?? ':';
  return createServer({ allowHalfOpen: true }, (sock) => {
    const h = createHash('sha256');
    let n = 0;
    sock.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    sock.on('end', () => sock.end(`${n}${separator}${h.digest('hex')}`));
    sock.on('error', () => {});
  });
}

/** Listens on 127.0.0.1 on a free port; returns the port. */
export async function listenOnLoopback(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return portOf(server);
}

/** A loopback port nothing listens on (it was free a moment ago): "a service that is not running". */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenOnLoopback(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The port a listening server is bound to. */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** A digest service (see createDigestServer) listening on 127.0.0.1. */
export async function startDigestService(options: { separator?: string } = {}): Promise<Server> {
  const server = createDigestServer(options);
  await listenOnLoopback(server);
  return server;
}

/** Connects to 127.0.0.1:`port`, sends `payload`, half-closes, and returns the whole reply. */
export async function sendAndHalfClose(port: number, payload: Buffer): Promise<string> {
  const sock = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  await once(sock, 'connect');
  const reply: Buffer[] = [];
  sock.on('data', (d: Buffer) => reply.push(d));
  sock.end(payload); // half-close: done sending, still want the answer
  await once(sock, 'end');
  sock.destroy();
  return Buffer.concat(reply).toString();
}

/**
 * How a socket's incoming stream ended, as the kernel saw it: 'end' for a FIN, else the error
 * code ('ECONNRESET' for a reset). Open the socket with `allowHalfOpen`. Node alone cannot tell:
 * libuv reports a reset that arrives right behind data as a clean end (POLLHUP after a partial
 * read, so the kernel's ECONNRESET is never read), as a plain `recv()` loop like curl's would.
 * So an 'end' is checked with a zero-length write, which the kernel fails on a reset connection
 * and accepts, sending nothing, on a half-closed one.
 */
export function streamEnd(sock: Socket): Promise<string> {
  return new Promise((resolve) => {
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    sock.once('end', () => {
      if (sock.writableEnded) return resolve('end');
      sock.write(Buffer.alloc(0), (e) => {
        if (!e) resolve('end'); // else the 'error' above resolves with its code
      });
    });
  });
}

const FLOOD_BLOCK = Buffer.alloc(64 * 1024, 'airlock ');

/** Writes to `sock` without end, following backpressure, until it fails or is destroyed. */
export function flood(sock: Socket): void {
  const pump = (): void => {
    while (!sock.destroyed && sock.write(FLOOD_BLOCK));
    if (!sock.destroyed) sock.once('drain', pump);
  };
  pump();
}
