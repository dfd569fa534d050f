import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ChannelOpenMessage, type SshChannel } from '@microsoft/dev-tunnels-ssh';
import { resumablePair } from '../testing/resumable-ssh-pair.js';
import { limitUnacknowledged, ReceiptAcknowledger, unacknowledgedBytes } from './unacknowledged.js';

const MiB = 1024 * 1024;
const CHUNK = Buffer.alloc(32 * 1024, 0x5a);
const TOTAL = 64 * MiB;
const LIMIT = 24 * MiB;

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

/**
 * A resumable pair whose server ends nothing but reports (in `exceeded`) what its LIMIT sees, and
 * one channel from the client with a window larger than the transfer: `channel` is the client's
 * end, `sender` the server's.
 */
async function limitedChannel(keyRotationBytes: number) {
  const pair = await resumablePair(keyRotationBytes);
  cleanups.push(pair.close);
  const server = pair.servers.at(-1)!.session;
  const exceeded: number[] = [];
  limitUnacknowledged(server, LIMIT, (kept) => exceeded.push(kept));
  const opened = new Promise<SshChannel>((resolve) => server.onChannelOpening((e) => resolve(e.channel)));
  const open = new ChannelOpenMessage();
  open.channelType = 'session';
  open.maxWindowSize = 2 * TOTAL;
  const channel = await pair.client.openChannel(open);
  return { pair, server, channel, sender: await opened, exceeded };
}

/**
 * The server sends TOTAL bytes on one channel to a client that never adjusts the window (it
 * granted one larger than the transfer) and so sends nothing of its own, unless `acknowledge`.
 * Returns the most the server kept unacknowledged, and what its limit reported.
 */
async function download(acknowledge: boolean): Promise<{ maxKept: number; exceeded: number[] }> {
  // No key re-exchange: a send made during one returns at once, its message held for later.
  const { pair, server, channel, sender, exceeded } = await limitedChannel(2 ** 40);
  if (acknowledge) new ReceiptAcknowledger(pair.client).watch(channel);
  let received = 0;
  const all = new Promise<void>((resolve) =>
    channel.onDataReceived((data) => {
      received += data.length;
      if (received >= TOTAL) resolve();
    }),
  );
  let maxKept = 0;
  for (let sent = 0; sent < TOTAL; sent += CHUNK.length) {
    await sender.send(CHUNK);
    maxKept = Math.max(maxKept, unacknowledgedBytes(server));
  }
  await all;
  return { maxKept, exceeded };
}

test('a receiver that sends nothing acknowledges nothing: the sender keeps the whole transfer, and its limit says so', async () => {
  const { maxKept, exceeded } = await download(false);
  assert.ok(maxKept >= TOTAL, `kept ${maxKept} bytes`);
  assert.equal(exceeded.length, 1, 'reported once');
  assert.ok(exceeded[0]! > LIMIT);
});

test('a receipt acknowledger keeps what the sender holds near its interval, under the limit', async () => {
  const { maxKept, exceeded } = await download(true);
  // Twice the interval, plus what is in flight in the WebSocket's socket buffers on 127.0.0.1
  // (both ends in this process: under load, several MiB); without it, the whole transfer.
  assert.ok(maxKept < LIMIT, `kept at most ${maxKept} bytes`);
  assert.deepEqual(exceeded, []);
});

/** A session as the acknowledger sees it; `sends` says whether the session sends messages of its own between checks. */
function fakeSession(sends: boolean, connected = true) {
  let messagesSent = 0;
  const acknowledgements: unknown[] = [];
  const session = {
    metrics: {
      get messagesSent() {
        if (sends) messagesSent++;
        return messagesSent;
      },
    },
    isConnected: connected,
    sendMessage: (m: unknown) => {
      acknowledgements.push(m);
      messagesSent++;
      return Promise.resolve();
    },
  };
  return { session: session as unknown as ConstructorParameters<typeof ReceiptAcknowledger>[0], acknowledgements };
}

test('a session that only receives acknowledges once per interval', () => {
  const { session, acknowledgements } = fakeSession(false);
  const acknowledger = new ReceiptAcknowledger(session, MiB);
  for (let i = 0; i < 16; i++) acknowledger.count(MiB / 2);
  assert.equal(acknowledgements.length, 8);
});

test('a session that sends messages of its own is not made to send acknowledgements too', () => {
  const { session, acknowledgements } = fakeSession(true);
  const acknowledger = new ReceiptAcknowledger(session, MiB);
  for (let i = 0; i < 16; i++) acknowledger.count(MiB / 2);
  assert.equal(acknowledgements.length, 0);
});

test('a disconnected session sends no acknowledgement (the resume acknowledges)', () => {
  const { session, acknowledgements } = fakeSession(false, false);
  const acknowledger = new ReceiptAcknowledger(session, MiB);
  for (let i = 0; i < 16; i++) acknowledger.count(MiB / 2);
  assert.equal(acknowledgements.length, 0);
});

test('a peer that starts a key exchange and never finishes it cannot make the sender hold past the limit', async () => {
  // Keys re-exchanged every MiB: the sender then holds back every message until the exchange ends.
  const { pair, server, channel, sender, exceeded } = await limitedChannel(MiB);
  new ReceiptAcknowledger(pair.client).watch(channel);
  // A hostile client: it ignores the key exchange the server starts (methods the library's types
  // do not declare), and goes on taking data.
  const client = pair.client as unknown as Record<string, unknown>;
  client.handleKeyExchangeMessage = async () => {};
  client.handleNewKeysMessage = async () => {};
  for (let sent = 0; sent < TOTAL && exceeded.length === 0; sent += CHUNK.length) await sender.send(CHUNK);
  assert.equal(exceeded.length, 1, `held ${unacknowledgedBytes(server)} bytes without the limit seeing them`);
  assert.ok(exceeded[0]! > LIMIT && exceeded[0]! < LIMIT + 2 * MiB, `reported at ${exceeded[0]} bytes`);
});
