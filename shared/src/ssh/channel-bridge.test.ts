import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { test } from 'node:test';
import { ChannelOpenMessage } from '@microsoft/dev-tunnels-ssh';
import { bridgeChannel } from './channel-bridge.js';
import { BULK_WINDOW_BYTES } from './config.js';
import { connectedSshPair } from './test-pair.js';

/** A TCP service that reads everything until the client half-closes, then answers with a digest. */
async function digestService(): Promise<Server> {
  const srv = createServer({ allowHalfOpen: true }, (sock) => {
    const h = createHash('sha256');
    let n = 0;
    sock.on('data', (d: Buffer) => {
      h.update(d);
      n += d.length;
    });
    sock.on('end', () => sock.end(`${n}:${h.digest('hex')}`));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return srv;
}

test('bridge keeps TCP half-close and moves bulk data intact both ways', async () => {
  const svc = await digestService();
  const port = (svc.address() as AddressInfo).port;
  const pair = await connectedSshPair((server) => {
    server.onChannelOpening((e) => {
      e.channel.maxWindowSize = BULK_WINDOW_BYTES;
      const sock = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      bridgeChannel(e.channel, { readable: sock, writable: sock });
    });
  });
  try {
    const open = new ChannelOpenMessage();
    open.channelType = 'test-stream';
    open.maxWindowSize = BULK_WINDOW_BYTES;
    const channel = await pair.client.openChannel(open);
    const payload = randomBytes(8 * 1024 * 1024 + 123);
    const reply: Buffer[] = [];
    channel.onDataReceived((d) => {
      reply.push(Buffer.from(d));
      channel.adjustWindow(d.length);
    });
    const eof = new Promise<void>((r) => channel.onEof(() => r()));
    for (let i = 0; i < payload.length; i += 256 * 1024) await channel.send(payload.subarray(i, i + 256 * 1024));
    await channel.send(Buffer.alloc(0)); // half-close: we are done sending, still want the answer
    await eof;
    const expected = `${payload.length}:${createHash('sha256').update(payload).digest('hex')}`;
    assert.equal(Buffer.concat(reply).toString(), expected);
  } finally {
    await pair.close();
    svc.close();
  }
});
