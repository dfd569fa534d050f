import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BULK_WINDOW_BYTES, directTcpipOpen } from '@airlock/shared/ssh';
import {
  connectClient,
  sendUntilStalled,
  targetThatNeverReads,
  withOnlineAgent,
  withTimeout,
} from './testing/harness.js';

const CHUNK = Buffer.alloc(256 * 1024, 0x61);

test('a client that ignores the channel window has its session closed, with a reason reported for the audit', async () => {
  const target = await targetThatNeverReads();
  try {
    await withOnlineAgent({ policy: { allowedPorts: [target.port] } }, async ({ relay, agent }) => {
      const c = await connectClient(relay, agent, { ports: [target.port] });
      try {
        const closed = new Promise<string>((r) => c.client.onClosed((e) => r(e.message ?? String(e.reason))));
        const ch = await c.client.openChannel(directTcpipOpen({ host: '127.0.0.1', port: target.port }));
        // The library's sender honours the window it was given; a hostile one does not.
        (ch as unknown as { remoteWindowSize: number }).remoteWindowSize = 1e13;
        const sent = await sendUntilStalled(ch, CHUNK, 4 * BULK_WINDOW_BYTES, 3000);
        assert.ok(sent > BULK_WINDOW_BYTES, `the client got past the window (${sent} bytes)`);
        assert.match(await withTimeout(closed, 10_000, 'the session to close'), /ignored the channel window/);
        const report = await relay.until(
          () =>
            relay.messages.find(
              (m) =>
                m.type === 'channel-refused' && m.sessionId === c.sid && /ignored the channel window/.test(m.reason),
            ),
          5000,
          'the refusal reported to the relay',
        );
        assert.equal(report.type === 'channel-refused' && report.channel, 'direct-tcpip');
      } finally {
        await c.close();
      }
    });
  } finally {
    target.close();
  }
});

test('a client that fills the window and waits is not taken for one that ignores it', async () => {
  const target = await targetThatNeverReads();
  try {
    await withOnlineAgent({ policy: { allowedPorts: [target.port] } }, async ({ relay, agent }) => {
      const c = await connectClient(relay, agent, { ports: [target.port] });
      try {
        const ch = await c.client.openChannel(directTcpipOpen({ host: '127.0.0.1', port: target.port }));
        const sent = await sendUntilStalled(ch, CHUNK, 4 * BULK_WINDOW_BYTES, 1500);
        // The window plus what the target's socket buffers took before it filled.
        assert.ok(sent >= BULK_WINDOW_BYTES, `the whole window was used (${sent} bytes)`);
        assert.ok(sent < 4 * BULK_WINDOW_BYTES, `then the client was held back (${sent} bytes)`);
        assert.equal(c.client.isClosed, false, 'the session is still open');
        const other = await withTimeout(c.client.openChannel(), 5000, 'another channel on the same session');
        await other.close();
      } finally {
        await c.close();
      }
    });
  } finally {
    target.close();
  }
});
