import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';

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
