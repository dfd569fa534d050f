import { once } from 'node:events';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Stream } from '@microsoft/dev-tunnels-ssh';
import { WebSocket, WebSocketServer } from 'ws';
import { webSocketSshStream } from '../ssh/websocket-stream.js';
import { mintServerCertificate, type MintedCertificate } from '../tls/mint.js';

let cert: Promise<MintedCertificate> | undefined;

/**
 * Test helper: a TLS WebSocket pair on 127.0.0.1 (as every Airlock hop is) where one end is an
 * SSH stream (for a session under test) and the other a raw socket that sends whatever a test or
 * fuzzer wants. TLS matters for timing: its writes complete asynchronously, as in production.
 */
export interface RawPeerLink {
  /** The SSH side's stream, listening before the first frame can arrive. */
  stream: Stream;
  /** The SSH side's socket. */
  ws: WebSocket;
  /** The hostile side. */
  raw: WebSocket;
  /** Resolves once the SSH side has received its first frame. */
  firstFrame: Promise<void>;
  close(): Promise<void>;
}

export async function rawPeerLink(): Promise<RawPeerLink> {
  const { certPem, keyPem } = await (cert ??= mintServerCertificate({
    commonName: 'raw-peer',
    ipAddresses: ['127.0.0.1'],
  }));
  const https = createServer({ cert: certPem, key: keyPem });
  https.listen(0, '127.0.0.1');
  await once(https, 'listening');
  const wss = new WebSocketServer({ server: https });
  const accepted = new Promise<{ ws: WebSocket; stream: Stream; firstFrame: Promise<void> }>((resolve) =>
    wss.once('connection', (ws) => {
      const stream = webSocketSshStream(ws);
      const firstFrame = new Promise<void>((r) => ws.once('message', () => r()));
      resolve({ ws, stream, firstFrame });
    }),
  );
  const raw = new WebSocket(`wss://127.0.0.1:${(https.address() as AddressInfo).port}`, {
    rejectUnauthorized: false,
  });
  raw.on('error', () => {});
  await once(raw, 'open');
  const { ws, stream, firstFrame } = await accepted;
  return {
    stream,
    ws,
    raw,
    firstFrame,
    close: async () => {
      raw.terminate();
      ws.terminate();
      wss.close();
      https.closeAllConnections();
      await new Promise<void>((r) => https.close(() => r()));
    },
  };
}
