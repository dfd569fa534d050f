import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { test } from 'node:test';
import { ChannelOpenMessage } from '@microsoft/dev-tunnels-ssh';
import { bridgeChannel } from './channel-bridge.js';
import { BULK_WINDOW_BYTES } from './config.js';
import { connectedSshPair, portOf, startDigestService } from '../testing/index.js';

test('bridge keeps TCP half-close and moves bulk data intact both ways', async () => {
  const svc = await startDigestService();
  const port = portOf(svc);
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
