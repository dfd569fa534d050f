import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SshChannelError, SshChannelOpenFailureReason, type SshChannel } from '@microsoft/dev-tunnels-ssh';
import { BULK_WINDOW_BYTES, directTcpipOpen, FORWARD_CONNECT_FAILED_SIGNAL } from '@airlock/shared/ssh';
import { createDigestServer, listenOnLoopback, portOf, streamEnd } from '@airlock/shared/testing';
import type { RunningAgent } from './agent.js';
import { BULK_FORWARDS_PER_SESSION, SMALL_FORWARD_WINDOW_BYTES } from './channel-admission.js';
import { FakeRelay } from './testing/fake-relay.js';
import { collect, connectClient, startTestAgent, withTimeout, type TestClient } from './testing/harness.js';

const FORWARD_LIMIT = 40;

/** Sends `payload` on a forward, half-closes, and returns the digest service's answer. */
async function digestVia(channel: SshChannel, payload: Buffer): Promise<string> {
  const out = collect(channel);
  await channel.send(payload);
  await channel.send(Buffer.alloc(0));
  await withTimeout(out.eof, 20_000, 'digest reply');
  return out.text();
}

const digestOf = (b: Buffer) => `${b.length}:${createHash('sha256').update(b).digest('hex')}`;

/** A port on 127.0.0.1 where nothing listens (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  const port = await listenOnLoopback(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('forwards on one session', () => {
  let relay: FakeRelay;
  let agent: RunningAgent;
  let c: TestClient;
  let digest: Server;
  let sink: Server;
  let sinkSockets: Socket[];
  let deadPort: number;

  before(async () => {
    relay = await FakeRelay.start();
    digest = createDigestServer();
    sinkSockets = [];
    sink = createServer({ allowHalfOpen: true }, (s) => {
      sinkSockets.push(s);
      s.on('error', () => {}); // channels closed without EOF reset their target: that is the point
      s.resume();
    });
    deadPort = await closedPort();
    const ports = [await listenOnLoopback(digest), await listenOnLoopback(sink), deadPort];
    agent = await startTestAgent(relay, {
      policy: { allowedPorts: ports },
      maxForwardsPerSession: FORWARD_LIMIT,
      // A dropped session waits this long for a resume before it (and its forwards) end.
      resumeWindowMs: 1500,
    });
    await agent.whenOnline();
    c = await connectClient(relay, agent, { ports });
  });
  after(async () => {
    await c.close();
    await agent.close();
    await relay.close();
    digest.close();
    sink.close();
  });

  const open = (port: number) =>
    c.client.openChannel(directTcpipOpen({ host: '127.0.0.1', port, maxWindowSize: BULK_WINDOW_BYTES }));

  test('more forwards at once than a session has channels (32), each with its own bytes', async () => {
    const n = FORWARD_LIMIT;
    const channels = await Promise.all(Array.from({ length: n }, () => open(portOf(digest))));
    const payloads = channels.map((_, i) => randomBytes(20_000 + i));
    const replies = await Promise.all(channels.map((ch, i) => digestVia(ch, payloads[i]!)));
    assert.deepEqual(replies, payloads.map(digestOf));
  });

  test('the first forwards get the bulk window, later ones a small one (bounded memory per session)', async () => {
    const channels = await Promise.all(Array.from({ length: BULK_FORWARDS_PER_SESSION + 2 }, () => open(portOf(sink))));
    try {
      // What the agent granted, as the client's library recorded it from the open confirmation.
      const windows = channels.map((ch) => (ch as unknown as { remoteWindowSize: number }).remoteWindowSize);
      assert.deepEqual(new Set(windows.slice(0, BULK_FORWARDS_PER_SESSION)), new Set([BULK_WINDOW_BYTES]));
      assert.deepEqual(windows.slice(BULK_FORWARDS_PER_SESSION), [
        SMALL_FORWARD_WINDOW_BYTES,
        SMALL_FORWARD_WINDOW_BYTES,
      ]);
    } finally {
      await Promise.all(channels.map((ch) => ch.close()));
    }
  });

  test('beyond maxForwardsPerSession a forward is refused with the limit and reported; a closed one frees a place', async () => {
    const channels = await Promise.all(Array.from({ length: FORWARD_LIMIT }, () => open(portOf(sink))));
    try {
      const e = await open(portOf(sink)).then(
        () => assert.fail('one forward too many was accepted'),
        (x: unknown) => x,
      );
      assert.ok(e instanceof SshChannelError, String(e));
      assert.equal(e.reason, SshChannelOpenFailureReason.resourceShortage);
      assert.match(
        e.message,
        new RegExp(`too many forwarded connections open on this session \\(limit ${FORWARD_LIMIT}\\)`),
      );
      const report = await relay.until(
        () =>
          relay.messages.flatMap((m) =>
            m.type === 'channel-refused' && m.sessionId === c.sid && /limit/.test(m.reason) ? [m] : [],
          )[0],
        5000,
        'channel-refused for the limit',
      );
      assert.equal(report.channel, 'direct-tcpip');
      assert.equal(report.target, `127.0.0.1:${portOf(sink)}`);
      // A shell still opens: session channels have their own limit.
      const sh = await c.client.openChannel();
      await sh.close();
      const closed = collect(channels[0]!).closed;
      await channels[0]!.close();
      await closed;
      const again = await withTimeout(open(portOf(sink)), 3000, 'a forward after one closed');
      channels[0] = again;
    } finally {
      await Promise.all(channels.map((ch) => ch.close()));
    }
  });

  test('a port where nothing listens: the channel closes saying connection refused', async () => {
    const ch = await open(deadPort);
    const closed = await withTimeout(collect(ch).closed, 5000, 'forward closed');
    assert.deepEqual(closed, {
      exitStatus: undefined,
      exitSignal: FORWARD_CONNECT_FAILED_SIGNAL,
      errorMessage: 'ECONNREFUSED',
    });
  });

  test('a session lost mid-upload (not resumed within the window) resets the connection to the target, never a clean end', async () => {
    const c2 = await connectClient(relay, agent, { ports: [portOf(sink)] });
    const before = sinkSockets.length;
    const ch = await c2.client.openChannel(directTcpipOpen({ host: '127.0.0.1', port: portOf(sink) }));
    await ch.send(randomBytes(256 * 1024));
    await relay.until(() => sinkSockets.length > before, 5000, 'target connected');
    const target = sinkSockets.at(-1)!;
    const ended = streamEnd(target);
    relay.dropSession(c2.sid); // the relay or the network dies under the session, and nobody resumes it
    assert.equal(await withTimeout(ended, 8000, 'target connection ended'), 'ECONNRESET');
    c2.client.dispose();
  });
});
