import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelOpenMessage, type SshChannel } from '@microsoft/dev-tunnels-ssh';
import { createServer } from 'node:net';
import { BULK_WINDOW_BYTES, directTcpipOpen, limitUnacknowledged, ReceiptAcknowledger } from '@airlock/shared/ssh';
import { listenOnLoopback, portOf, withholdAcknowledgements } from '@airlock/shared/testing';
import { connectClient, execRequest, withOnlineAgent, withTimeout } from './testing/harness.js';

const LIMIT_MIB = 4;
/** Far more than the limit, from a command that writes as fast as the client takes it. */
const OUTPUT_BYTES = 64 * 1024 * 1024;

/** Takes everything the channel receives, giving the window back at once; resolves with the byte count at EOF or close. */
function drain(ch: SshChannel): Promise<number> {
  let bytes = 0;
  ch.onDataReceived((data) => {
    bytes += data.length;
    ch.adjustWindow(data.length);
  });
  return new Promise((resolve) => ch.onClosed(() => resolve(bytes)));
}

test('a client that takes data without acknowledging it has its session closed before the agent holds much more than the limit', async () => {
  await withOnlineAgent({ maxUnacknowledgedMiB: LIMIT_MIB }, async ({ relay, agent }) => {
    const c = await connectClient(relay, agent);
    try {
      const closed = new Promise<string>((r) => c.client.onClosed((e) => r(e.message ?? String(e.reason))));
      withholdAcknowledgements(c.client);
      const ch = await c.client.openChannel();
      const received = drain(ch);
      assert.equal(await ch.request(execRequest(`head -c ${OUTPUT_BYTES} /dev/zero`)), true);
      assert.match(await withTimeout(closed, 20_000, 'the session to close'), /stopped acknowledging/);
      const bytes = await withTimeout(received, 5000, 'the channel to close');
      assert.ok(bytes < OUTPUT_BYTES / 2, `the client got ${bytes} bytes before the session ended`);
      const report = await relay.until(
        () =>
          relay.messages.find(
            (m) => m.type === 'channel-refused' && m.sessionId === c.sid && /stopped acknowledging/.test(m.reason),
          ),
        5000,
        'the refusal reported to the relay',
      );
      assert.equal(report.type === 'channel-refused' && report.channel, '(session)');
    } finally {
      await c.close();
    }
  });
});

test('a client that acknowledges as Connect does keeps its session under the same limit', async () => {
  await withOnlineAgent({ maxUnacknowledgedMiB: LIMIT_MIB }, async ({ relay, agent }) => {
    const c = await connectClient(relay, agent);
    try {
      // A bulk window, as Connect's sftp channels have: given back every half window (8 MiB), it
      // alone would acknowledge too seldom for this limit.
      const open = new ChannelOpenMessage();
      open.channelType = 'session';
      open.maxWindowSize = BULK_WINDOW_BYTES;
      const ch = await c.client.openChannel(open);
      new ReceiptAcknowledger(c.client).watch(ch);
      const received = drain(ch);
      assert.equal(await ch.request(execRequest(`head -c ${OUTPUT_BYTES} /dev/zero`)), true);
      assert.equal(await withTimeout(received, 30_000, 'the command to finish'), OUTPUT_BYTES);
      assert.equal(c.client.isClosed, false, 'the session is still open');
    } finally {
      await c.close();
    }
  });
});

test('the agent acknowledges an upload as it takes it: a client that holds at most 4 MiB for it keeps the session', async () => {
  const total = 48 * 1024 * 1024;
  const sink = createServer((s) => {
    s.on('error', () => {});
    s.resume();
  });
  await listenOnLoopback(sink);
  try {
    await withOnlineAgent({ policy: { allowedPorts: [portOf(sink)] } }, async ({ relay, agent }) => {
      const c = await connectClient(relay, agent, { ports: [portOf(sink)] });
      try {
        const exceeded: number[] = [];
        // The window alone (given back every 8 MiB of the forward's 16 MiB) acknowledges too seldom.
        limitUnacknowledged(c.client, 4 * 1024 * 1024, (kept) => exceeded.push(kept));
        const ch = await c.client.openChannel(directTcpipOpen({ host: '127.0.0.1', port: portOf(sink) }));
        const chunk = Buffer.alloc(256 * 1024, 0x75);
        for (let sent = 0; sent < total && exceeded.length === 0; sent += chunk.length) await ch.send(chunk);
        assert.deepEqual(exceeded, []);
        assert.equal(c.client.isClosed, false);
      } finally {
        await c.close();
      }
    });
  } finally {
    sink.close();
  }
});
