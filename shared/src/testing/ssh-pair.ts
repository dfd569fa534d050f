import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SshAuthenticationType, SshClientSession, SshServerSession, type KeyPair } from '@microsoft/dev-tunnels-ssh';
import { WebSocket, WebSocketServer } from 'ws';
import { createSshConfig } from '../ssh/config.js';
import { generateHostKey } from '../ssh/keys.js';
import { startSshSession } from '../ssh/session-start.js';
import { webSocketSshStream } from '../ssh/websocket-stream.js';

/**
 * Test helper: an authenticated SSH client/server pair over a real WebSocket on 127.0.0.1.
 * The server accepts any client key and the client any host key; the callers add handlers.
 * `keyRotationBytes` makes both sides exchange keys again that often (the library's default is
 * every 512 MiB), to test what happens to data sent during a key exchange.
 */
export async function connectedSshPair(
  setupServer: (server: SshServerSession) => void,
  options: { keyRotationBytes?: number } = {},
): Promise<{
  client: SshClientSession;
  server: SshServerSession;
  close: () => Promise<void>;
}> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const hostKey = await generateHostKey();
  const userKey: KeyPair = await generateHostKey();
  const config = () => {
    // Without session resume: these pairs show what a session's end does to its channels, and a
    // resumable session does not end when its stream does (it waits for a resume).
    const c = createSshConfig({ resume: false });
    // Not in the library's typings, but a public field of the configuration object.
    if (options.keyRotationBytes)
      (c as unknown as { keyRotationThreshold: number }).keyRotationThreshold = options.keyRotationBytes;
    return c;
  };
  const serverReady = new Promise<SshServerSession>((resolve, reject) => {
    wss.once('connection', (ws) => {
      const server = new SshServerSession(config());
      server.credentials = { publicKeys: [hostKey] };
      server.onAuthenticating((e) => {
        if (e.authenticationType === SshAuthenticationType.clientPublicKey)
          e.authenticationPromise = Promise.resolve({});
      });
      setupServer(server);
      void startSshSession(server, webSocketSshStream(ws)).then((r) =>
        r.ok ? resolve(server) : reject(new Error(r.error.message)),
      );
    });
  });
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const stream = webSocketSshStream(ws);
  await once(ws, 'open');
  const client = new SshClientSession(config());
  client.onAuthenticating((e) => {
    e.authenticationPromise = Promise.resolve({});
  });
  const started = await startSshSession(client, stream);
  if (!started.ok) throw new Error(started.error.message);
  const server = await serverReady;
  if (!(await client.authenticate({ username: 'test', publicKeys: [userKey] }))) throw new Error('auth failed');
  return {
    client,
    server,
    close: async () => {
      client.dispose();
      server.dispose();
      ws.terminate();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}
