import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { within } from '@airlock/shared/testing';
import { createRelayLogger } from './logger.js';
import { createRelay } from './relay.js';

const logger = createRelayLogger('silent');

async function silentPeer(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {}); // a reset is what this test expects
  await once(socket, 'connect');
  return socket;
}

test('a relay stops at once though a peer connected and never began its TLS handshake', async (t) => {
  // The handshake timeout set far out, so that it is the stop that ends the connection.
  const relay = await createRelay({ config: { port: 0, tlsHandshakeTimeoutMs: 120_000 }, logger });
  t.after(() => relay.close());
  const peer = await silentPeer(relay.port);
  const closed = once(peer, 'close');
  // A bound far beyond a stop's 1 s grace and far below the 2 min it took before.
  await within(relay.close(), 20_000, 'the relay to stop');
  await closed;
});

test('a connection that does not finish its TLS handshake within tlsHandshakeTimeoutMs is dropped', async (t) => {
  const relay = await createRelay({ config: { port: 0, tlsHandshakeTimeoutMs: 200 }, logger });
  t.after(() => relay.close());
  const peer = await silentPeer(relay.port);
  await within(once(peer, 'close'), 20_000, 'the silent peer to be dropped');
});
