import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelOpenMessage, type SshChannel } from '@microsoft/dev-tunnels-ssh';
import {
  ACKNOWLEDGE_EVERY_BYTES,
  BULK_WINDOW_BYTES,
  directTcpipOpen,
  ReceiptAcknowledger,
  unacknowledgedBytes,
} from '@airlock/shared/ssh';
import { withholdAcknowledgements } from '@airlock/shared/testing';
import {
  connectClient,
  execRequest,
  sendUntilStalled,
  targetThatNeverReads,
  withOnlineAgent,
  withTimeout,
} from './testing/harness.js';

const LIMIT_MIB = 24;
/** Far more than the limit, from a command that writes as fast as the client takes it. */
const OUTPUT_BYTES = 96 * 1024 * 1024;

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
      // A window given back every half window (32 MiB): that alone would acknowledge too seldom
      // for this limit, which leaves room for what is in flight under load.
      const open = new ChannelOpenMessage();
      open.channelType = 'session';
      open.maxWindowSize = 4 * BULK_WINDOW_BYTES;
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

test('the agent acknowledges what it receives even when it gives no window back: the client keeps almost nothing for it', async () => {
  // A forward target that never reads: the agent gives back window only for what its socket took.
  const target = await targetThatNeverReads();
  try {
    await withOnlineAgent({ policy: { allowedPorts: [target.port] } }, async ({ relay, agent }) => {
      const c = await connectClient(relay, agent, { ports: [target.port] });
      try {
        const ch = await c.client.openChannel(directTcpipOpen({ host: '127.0.0.1', port: target.port }));
        const sent = await sendUntilStalled(ch, Buffer.alloc(256 * 1024, 0x75), 4 * BULK_WINDOW_BYTES, 1500);
        assert.ok(sent >= BULK_WINDOW_BYTES, `a whole window went (${sent} bytes)`);
        // Measured once all of it has arrived, not while in flight.
        const kept = unacknowledgedBytes(c.client);
        assert.ok(kept < 2 * ACKNOWLEDGE_EVERY_BYTES + 256 * 1024, `the client keeps ${kept} bytes for the agent`);
      } finally {
        await c.close();
      }
    });
  } finally {
    target.close();
  }
});
