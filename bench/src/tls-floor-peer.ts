// The processes of `npm run tls-floor` (tls-floor.ts): a WebSocket server that ends TLS itself
// (Node's TLS, as the relay does), a plain one behind a TLS-ending proxy, and the clients.
// Each prints one JSON line once it is ready.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';

const [role, dir, portOrCount, targetPort] = process.argv.slice(2);
const file = (name: string) => readFileSync(`${dir}/${name}`);

function serve(server: ReturnType<typeof createServer>, hasClientCert: (req: IncomingMessage) => boolean): void {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // As the relay: no client certificate, no session.
    if (!hasClientCert(req)) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(m)));
  });
  // The measuring process asks for a collection before each reading (started with --expose-gc).
  process.on('SIGUSR2', () => (globalThis as { gc?: () => void }).gc?.());
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 }));
  });
}

async function connectAll(count: number, port: number): Promise<void> {
  const key = file('client.key');
  const cert = file('client.crt');
  const held: WebSocket[] = [];
  let open = 0;
  let failed = 0;
  for (let i = 0; i < count; i++)
    await new Promise<void>((resolve) => {
      const ws = new WebSocket(`wss://127.0.0.1:${port}/`, {
        key,
        cert,
        rejectUnauthorized: false,
        perMessageDeflate: false,
      });
      ws.once('open', () => {
        open++;
        // One echo, as a paired session's first bytes: buffers that exist only once data moved count.
        ws.send('x');
        ws.once('message', () => resolve());
      });
      // A connection that neither opens nor echoes within 10 s counts as failed.
      const timer = setTimeout(() => {
        failed++;
        ws.terminate();
        resolve();
      }, 10_000);
      ws.once('message', () => clearTimeout(timer));
      ws.once('error', () => {
        clearTimeout(timer);
        failed++;
        resolve();
      });
      held.push(ws);
    });
  console.log(JSON.stringify({ open, failed }));
}

if (role === 'server-tls') {
  const server = createHttpsServer({
    key: file('server.key'),
    cert: file('server.crt'),
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
  serve(server, (req) => {
    const socket = req.socket as TLSSocket;
    return !!socket.getPeerCertificate?.().subject;
  });
} else if (role === 'server-plain') {
  serve(createServer(), (req) => typeof req.headers['x-client-cert'] === 'string');
} else if (role === 'clients') {
  await connectAll(Number(portOrCount), Number(targetPort));
} else {
  console.error(`unknown role ${role}`);
  process.exit(2);
}
