import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { ChannelOpenMessage, type SshClientSession } from '@microsoft/dev-tunnels-ssh';
import { bridgeChannel, RECEIVED_DATA_IS_OWNED, type BridgeOutcome } from './channel-bridge.js';
import { BULK_WINDOW_BYTES, MAX_PACKET_BYTES } from './config.js';
import { connectWithReusedReads } from './reused-reads.js';
import { connectedSshPair, flood, listenOnLoopback, portOf, startDigestService, streamEnd } from '../testing/index.js';

test('bridge keeps TCP half-close and moves bulk data intact both ways', async () => {
  const svc = await startDigestService();
  const port = portOf(svc);
  const pair = await connectedSshPair((server) => {
    server.onChannelOpening((e) => {
      e.channel.maxWindowSize = BULK_WINDOW_BYTES;
      const sock = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      bridgeChannel(e.channel, sock);
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

/**
 * A forward in miniature: a local listener whose connections become channels of an SSH pair,
 * bridged on both ends, to `service` on the far side — what Connect and the agent do.
 */
async function miniForward(
  service: Server,
  options: { farConnect?: (port: number) => Socket; keyRotationBytes?: number } = {},
) {
  const servicePort = portOf(service);
  const outcomes: { near: BridgeOutcome[]; far: BridgeOutcome[] } = { near: [], far: [] };
  const farConnect = options.farConnect ?? ((port) => connect({ host: '127.0.0.1', port, allowHalfOpen: true }));
  const pair = await connectedSshPair(
    (server) => {
      server.onChannelOpening((e) => {
        e.channel.maxWindowSize = BULK_WINDOW_BYTES;
        bridgeChannel(e.channel, farConnect(servicePort), { onDone: (o) => outcomes.far.push(o) });
      });
    },
    options.keyRotationBytes ? { keyRotationBytes: options.keyRotationBytes } : {},
  );
  const local = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (sock) => {
    void openStream(pair.client).then((channel) => {
      bridgeChannel(channel, sock, { onDone: (o) => outcomes.near.push(o) });
      sock.resume();
    });
  });
  const localPort = await listenOnLoopback(local);
  return {
    pair,
    localPort,
    outcomes,
    close: async () => {
      local.close();
      await pair.close();
      service.close();
    },
  };
}

function openStream(client: SshClientSession) {
  const open = new ChannelOpenMessage();
  open.channelType = 'test-stream';
  open.maxWindowSize = BULK_WINDOW_BYTES;
  return client.openChannel(open);
}

/** A raw reader on the forward's local port: bytes received so far, and how its stream ended. */
function startDownload(port: number) {
  const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  let received = 0;
  socket.on('data', (d: Buffer) => (received += d.length));
  return { socket, received: () => received, ended: streamEnd(socket) };
}

/** A service that writes without end; resolves each accepted socket. */
async function endlessSource(): Promise<{ server: Server; accepted: Promise<Socket> }> {
  let accept!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (accept = r));
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sock.on('error', () => {});
    flood(sock);
    accept(sock);
  });
  await listenOnLoopback(server);
  return { server, accepted };
}

/** A service that reads without end; resolves each accepted socket. */
async function endlessSink(): Promise<{ server: Server; accepted: Promise<Socket>; received: () => number }> {
  let accept!: (s: Socket) => void;
  let received = 0;
  const accepted = new Promise<Socket>((r) => (accept = r));
  const server = createServer({ allowHalfOpen: true }, (sock) => {
    sock.on('data', (d: Buffer) => (received += d.length));
    accept(sock);
  });
  await listenOnLoopback(server);
  return { server, accepted, received: () => received };
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a download whose session is lost ends in a reset at both ends, never a clean end', async () => {
  const source = await endlessSource();
  const fwd = await miniForward(source.server);
  try {
    const download = startDownload(fwd.localPort);
    const serviceSide = await source.accepted;
    // The service only writes: a reset shows as its next write failing.
    const serviceFailed = new Promise<string>((r) =>
      serviceSide.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? e.message)),
    );
    await until(() => download.received() > 2 * 1024 * 1024, 10_000, 'download under way');
    fwd.pair.client.dispose(); // the near end loses its session (the relay died)
    assert.equal(await download.ended, 'ECONNRESET');
    // The far end's session ends with it: its connection to the service is reset, not finished.
    assert.match(await serviceFailed, /^(ECONNRESET|EPIPE)$/);
    await until(() => fwd.outcomes.far.length === 1, 5000, 'far outcome');
    assert.equal(fwd.outcomes.near[0]?.kind, 'channel-lost');
    assert.equal(fwd.outcomes.far[0]?.kind, 'channel-lost');
  } finally {
    await fwd.close();
  }
});

test('an upload whose session is lost ends in a reset at the service, never a clean end', async () => {
  const sink = await endlessSink();
  const fwd = await miniForward(sink.server);
  try {
    const writer = connect({ host: '127.0.0.1', port: fwd.localPort, allowHalfOpen: true });
    writer.on('error', () => {});
    writer.once('connect', () => flood(writer));
    const serviceSide = await sink.accepted;
    const serviceEnd = streamEnd(serviceSide);
    await until(() => sink.received() > 2 * 1024 * 1024, 10_000, 'upload under way');
    fwd.pair.server.dispose(); // the far end loses its session (the agent's data socket died)
    assert.equal(await serviceEnd, 'ECONNRESET');
    writer.destroy();
  } finally {
    await fwd.close();
  }
});

test("the far side's connection failing resets the near side's connection", async () => {
  const source = await endlessSource();
  const fwd = await miniForward(source.server);
  try {
    const download = startDownload(fwd.localPort);
    const serviceSide = await source.accepted;
    await until(() => download.received() > 1024 * 1024, 10_000, 'download under way');
    serviceSide.resetAndDestroy(); // the service in the VM crashes mid-stream
    assert.equal(await download.ended, 'ECONNRESET');
    await until(() => fwd.outcomes.near.length === 1, 5000, 'near outcome');
    assert.equal(fwd.outcomes.far[0]?.kind, 'local-failed');
    assert.deepEqual(fwd.outcomes.near[0], {
      kind: 'channel-lost',
      reason: 'the far side closed the channel before the end of the stream',
    });
    // The session itself carries on: a new connection works.
    const again = startDownload(fwd.localPort);
    await until(() => again.received() > 64 * 1024, 10_000, 'second download');
    again.socket.destroy();
  } finally {
    await fwd.close();
  }
});

test('a real end of stream still arrives as a clean end, with every byte', async () => {
  const payload = randomBytes(5 * 1024 * 1024 + 3);
  const server = createServer({ allowHalfOpen: true }, (sock) => sock.on('error', () => {}).end(payload));
  await listenOnLoopback(server);
  const fwd = await miniForward(server);
  try {
    const reader = connect({ host: '127.0.0.1', port: fwd.localPort, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    reader.on('data', (d: Buffer) => chunks.push(d));
    assert.equal(await streamEnd(reader), 'end');
    assert.ok(Buffer.concat(chunks).equals(payload));
    reader.end();
    await until(() => fwd.outcomes.near.length === 1 && fwd.outcomes.far.length === 1, 5000, 'outcomes');
    assert.deepEqual(fwd.outcomes, { near: [{ kind: 'completed' }], far: [{ kind: 'completed' }] });
  } finally {
    await fwd.close();
  }
});

test('a socket reading into one reused buffer moves a large download intact, across key exchanges and a slow reader', async () => {
  // The far socket's reads land in one buffer that the next read overwrites; the library must
  // have copied each chunk before the bridge lets the socket read again — also while a key
  // exchange holds channel data back (here every 4 MiB), and while the near reader stalls.
  assert.ok(RECEIVED_DATA_IS_OWNED, 'the patched library hands out channel data it never reuses');
  const payload = randomBytes(24 * 1024 * 1024);
  const server = createServer({ allowHalfOpen: true }, (sock) => sock.on('error', () => {}).end(payload));
  await listenOnLoopback(server);
  const fwd = await miniForward(server, {
    farConnect: (port) => connectWithReusedReads({ host: '127.0.0.1', port, allowHalfOpen: true }, MAX_PACKET_BYTES),
    keyRotationBytes: 4 * 1024 * 1024,
  });
  try {
    const reader = connect({ host: '127.0.0.1', port: fwd.localPort, allowHalfOpen: true });
    await once(reader, 'connect');
    let chunks = 0;
    reader.on('data', () => {
      if (++chunks % 7 === 0) {
        reader.pause();
        setTimeout(() => reader.resume(), 5);
      }
    });
    await readsWholePayload(reader, payload, fwd);
  } finally {
    await fwd.close();
  }
});

test('a slow reader takes a large download without a drain listener per chunk', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  const payload = randomBytes(24 * 1024 * 1024);
  const server = createServer({ allowHalfOpen: true }, (sock) => sock.on('error', () => {}).end(payload));
  await listenOnLoopback(server);
  const fwd = await miniForward(server);
  try {
    const reader = connect({ host: '127.0.0.1', port: fwd.localPort, allowHalfOpen: true });
    reader.pause(); // nothing read for a while: the bridge's writes back up
    await once(reader, 'connect');
    await new Promise((r) => setTimeout(r, 500));
    const done = readsWholePayload(reader, payload, fwd);
    reader.resume();
    await done;
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    assert.deepEqual(
      warnings.map((w) => `${w.name}: ${w.message}`),
      [],
    );
  } finally {
    process.off('warning', onWarning);
    await fwd.close();
  }
});

/** `reader` gets exactly `payload` and a clean end; the near bridge then reports a completed close. */
async function readsWholePayload(
  reader: Socket,
  payload: Buffer,
  fwd: { outcomes: { near: BridgeOutcome[] } },
): Promise<void> {
  const h = createHash('sha256');
  let n = 0;
  reader.on('data', (d: Buffer) => {
    h.update(d);
    n += d.length;
  });
  assert.equal(await streamEnd(reader), 'end');
  assert.equal(n, payload.length);
  assert.equal(h.digest('hex'), createHash('sha256').update(payload).digest('hex'));
  reader.end();
  await until(() => fwd.outcomes.near.length === 1, 5000, 'near outcome');
  assert.deepEqual(fwd.outcomes.near, [{ kind: 'completed' }]);
}
