// A resumable SSH client/server pair over real WebSockets on 127.0.0.1, for tests of the
// library's session reconnect as Airlock patches it and configures it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SshAuthenticationType, SshClientSession, SshServerSession, type SshSession } from '@microsoft/dev-tunnels-ssh';
import { WebSocket, WebSocketServer } from 'ws';
import { createSshConfig } from '../ssh/config.js';
import { generateHostKey } from '../ssh/keys.js';
import { releaseSession } from '../ssh/session-release.js';
import { startSshSession } from '../ssh/session-start.js';
import { webSocketSshStream } from '../ssh/websocket-stream.js';

const KEY_ROTATION_BYTES = 1024 * 1024;

/** A resumable client/server pair; every connection the server accepts is a server session on one reconnect list. */
export async function resumablePair(keyRotationBytes = KEY_ROTATION_BYTES) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  const hostKey = await generateHostKey();
  const config = () => {
    const c = createSshConfig();
    // Not in the library's typings, but a public field of the configuration object.
    (c as unknown as { keyRotationThreshold: number }).keyRotationThreshold = keyRotationBytes;
    return c;
  };
  const reconnectable: SshServerSession[] = [];
  const servers: { session: SshServerSession; ws: WebSocket }[] = [];
  wss.on('connection', (ws) => {
    const session = new SshServerSession(config(), reconnectable);
    session.credentials = { publicKeys: [hostKey] };
    session.onAuthenticating((e) => {
      if (e.authenticationType === SshAuthenticationType.clientPublicKey) e.authenticationPromise = Promise.resolve({});
    });
    servers.push({ session, ws });
    void startSshSession(session, webSocketSshStream(ws));
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const dial = async () => {
    const ws = new WebSocket(url);
    const stream = webSocketSshStream(ws);
    await once(ws, 'open');
    return { ws, stream };
  };
  const first = await dial();
  const client = new SshClientSession(config());
  client.onAuthenticating((e) => (e.authenticationPromise = Promise.resolve({})));
  const started = await startSshSession(client, first.stream);
  assert.ok(started.ok, 'the session started');
  assert.ok(await client.authenticate({ username: 'test', publicKeys: [await generateHostKey()] }), 'authenticated');
  let clientWs = first.ws;
  return {
    client,
    servers,
    /**
     * Drops the connection: both ends at once, as a relay that vanished does, or one end, which
     * the other then learns of from its socket (a write failing, or the end of its reads).
     */
    drop: (ends: 'both' | 'server' | 'client' = 'both') => {
      if (ends !== 'client') servers.at(-1)!.ws.terminate();
      if (ends !== 'server') clientWs.terminate();
    },
    /**
     * The client's reconnect over a new connection; `dies` drops that connection as soon as the
     * server's first bytes (its version line) arrive, in the middle of the key exchange.
     */
    reconnect: async (dies = false) => {
      const next = await dial();
      clientWs = next.ws;
      if (dies) next.ws.once('message', () => next.ws.terminate());
      await client.reconnect(next.stream);
    },
    close: async () => {
      for (const s of servers) releaseSession(s.session);
      releaseSession(client);
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

/**
 * Makes `session` a peer that never acknowledges: every message it sends from now on says it has
 * received nothing, while it goes on taking data and granting window. The library keeps the
 * acknowledgement in a getter of its protocol object (a field its types do not declare).
 */
export function withholdAcknowledgements(session: SshSession): void {
  const protocol = (session as unknown as { protocol?: object }).protocol;
  if (!protocol) throw new Error('the session has no connection yet');
  Object.defineProperty(protocol, 'lastIncomingSequence', { get: () => 0 });
}
