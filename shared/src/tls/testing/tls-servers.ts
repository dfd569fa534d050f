import { once } from 'node:events';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { peerCertificateThumbprint } from '../peer.js';

export { within } from '../../testing/within.js';

/** What the server saw of one TCP connection. */
export interface SeenConnection {
  /** Decrypted application bytes received. */
  bytes: number;
  /** Thumbprint of the client certificate, once the handshake completed. */
  clientThumbprint?: string;
  tls?: TLSSocket;
  /** Resolves when the TCP connection has closed. */
  closed: Promise<void>;
}

export interface TestServer<S> {
  server: S;
  port: number;
  connections: SeenConnection[];
  /** Resolves with the next TCP connection (or one already seen and not yet taken). */
  nextConnection(): Promise<SeenConnection>;
  close(): Promise<void>;
}

type AnyTlsServer = TlsServer | HttpsServer;

async function track<S extends AnyTlsServer>(server: S): Promise<TestServer<S>> {
  const connections: SeenConnection[] = [];
  const waiting: Array<(c: SeenConnection) => void> = [];
  const sockets = new Set<Socket>();
  let taken = 0;
  server.on('connection', (raw: Socket) => {
    sockets.add(raw);
    const seen: SeenConnection = { bytes: 0, closed: once(raw, 'close').then(() => undefined) };
    raw.on('close', () => sockets.delete(raw));
    connections.push(seen);
    const waiter = waiting.shift();
    if (waiter) {
      taken++;
      waiter(seen);
    }
  });
  server.on('secureConnection', (tls: TLSSocket) => {
    const seen = connections[connections.length - 1]!;
    seen.tls = tls;
    seen.clientThumbprint = peerCertificateThumbprint(tls);
    tls.on('data', (d: Buffer) => (seen.bytes += d.length));
    tls.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as AddressInfo).port,
    connections,
    nextConnection: () =>
      taken < connections.length
        ? Promise.resolve(connections[taken++]!)
        : new Promise<SeenConnection>((resolve) => waiting.push(resolve)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const serverTls = (cert: { certPem: string; keyPem: string }) => ({
  cert: cert.certPem,
  key: cert.keyPem,
  // As the relay: ask for a (self-signed) client certificate, let the application judge it.
  requestCert: true,
  rejectUnauthorized: false,
});

/** A raw TLS server that echoes what it receives. */
export function startEchoTlsServer(cert: { certPem: string; keyPem: string }): Promise<TestServer<TlsServer>> {
  return track(createTlsServer(serverTls(cert), (s) => s.pipe(s)));
}

/**
 * An HTTPS server answering every request with the client certificate's thumbprint (or "none"),
 * with a WebSocket echo server on the same port, like the relay.
 */
export async function startHttpsWsServer(cert: {
  certPem: string;
  keyPem: string;
}): Promise<TestServer<HttpsServer> & { requests: number; wsConnections: number }> {
  const server = createHttpsServer(serverTls(cert), (req, res) => {
    counters.requests++;
    res.end(peerCertificateThumbprint(req.socket) ?? 'none');
  });
  const counters = { requests: 0, wsConnections: 0 };
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    counters.wsConnections++;
    ws.send(`thumbprint:${peerCertificateThumbprint(req.socket) ?? 'none'}`);
    ws.on('message', (m, isBinary) => ws.send(m, { binary: isBinary }));
  });
  const tracked = await track(server);
  return {
    ...tracked,
    // Getters, not copies: the counts keep moving after this returns.
    get requests() {
      return counters.requests;
    },
    get wsConnections() {
      return counters.wsConnections;
    },
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await tracked.close();
    },
  };
}
