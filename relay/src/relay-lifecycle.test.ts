import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { createRelayLogger } from './logger.js';
import { createRelay } from './relay.js';

const logger = createRelayLogger('silent');

/** What `work` came to, or `late` if it had not settled after `ms` (a hang check, not a timing). */
async function within<T>(work: Promise<T>, ms: number, late: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(late), ms)));
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

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
  const outcome = await within(
    relay.close().then(() => 'stopped'),
    20_000,
    'still stopping',
  );
  assert.equal(outcome, 'stopped');
  await closed;
});

test('a connection that does not finish its TLS handshake within tlsHandshakeTimeoutMs is dropped', async (t) => {
  const relay = await createRelay({ config: { port: 0, tlsHandshakeTimeoutMs: 200 }, logger });
  t.after(() => relay.close());
  const peer = await silentPeer(relay.port);
  const outcome = await within(
    once(peer, 'close').then(() => 'dropped'),
    20_000,
    'kept',
  );
  assert.equal(outcome, 'dropped');
});
