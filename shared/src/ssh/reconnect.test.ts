// The library's session reconnect as Airlock patches it (patches/README.md), with the drop put
// where it hurts: a real WebSocket on 127.0.0.1, a real reconnect over a new one, every byte of a
// download checksummed. The integration tests meet these moments by chance; these meet them always.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import type { SshChannel, SshClientSession, SshServerSession } from '@microsoft/dev-tunnels-ssh';
import { resumablePair } from '../testing/resumable-ssh-pair.js';

const CHUNK_BYTES = 32 * 1024;

/** Sends `total` random bytes on the channel; resolves with their SHA-256. */
async function sendAll(channel: SshChannel, total: number, sent: { bytes: number }): Promise<string> {
  const hash = createHash('sha256');
  while (sent.bytes < total) {
    const chunk = randomBytes(Math.min(CHUNK_BYTES, total - sent.bytes));
    hash.update(chunk);
    await channel.send(chunk);
    sent.bytes += chunk.length;
  }
  return hash.digest('hex');
}

/** Everything the channel receives until `total` bytes: their count and SHA-256. */
function receiveAll(channel: SshChannel, total: number): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Promise((resolve) => {
    channel.onDataReceived((data) => {
      hash.update(data);
      bytes += data.length;
      channel.adjustWindow(data.length);
      if (bytes >= total) resolve({ bytes, sha256: hash.digest('hex') });
    });
  });
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

type Pair = Awaited<ReturnType<typeof resumablePair>>;
type Side = 'server' | 'client';

/** A resumable pair with one channel open: `from` is the sender's end, `to` the receiver's. */
async function pairWithChannel(sender: Side, keyRotationBytes?: number) {
  const pair = await resumablePair(keyRotationBytes);
  cleanups.push(pair.close);
  const server = pair.servers[0]!.session;
  const accepted = server.acceptChannel();
  const clientChannel = await pair.client.openChannel();
  const serverChannel = await accepted;
  const [from, to] = sender === 'server' ? [serverChannel, clientChannel] : [clientChannel, serverChannel];
  return { pair, server, from, to };
}

/**
 * A 16 MiB transfer from `sender` with one drop put in by `armDrop` (which returns a check that
 * the drop happened as meant), the client reconnecting at once: both sessions live on and the
 * receiver gets every byte once, in order.
 */
async function transferAcrossDrop(
  sender: Side,
  armDrop: (pair: Pair, session: SshServerSession | SshClientSession, sent: { bytes: number }) => () => void,
): Promise<void> {
  const total = 16 * 1024 * 1024;
  const { pair, server, from, to } = await pairWithChannel(sender);
  const received = receiveAll(to, total);
  const sent = { bytes: 0 };
  const droppedAsMeant = armDrop(pair, sender === 'server' ? server : pair.client, sent);
  const resumed = new Promise<void>((resolve, reject) =>
    pair.client.onDisconnected(() => void pair.reconnect().then(resolve, reject)),
  );

  const sha256 = await sendAll(from, total, sent);
  await resumed;
  const got = await received;
  droppedAsMeant();
  assert.equal(server.isClosed, false, 'the server session was not closed by the drop');
  assert.equal(pair.client.isClosed, false, 'the client session was not closed by the drop');
  assert.equal(got.bytes, total);
  assert.equal(got.sha256, sha256, 'every byte arrived once, in order');
}

const DROP_AFTER_BYTES = 4 * 1024 * 1024;

for (const sender of ['server', 'client'] as const) {
  test(`the ${sender} sending without pause across a drop: the session resumes and every byte arrives once, in order`, async () => {
    await transferAcrossDrop(sender, (pair, _session, sent) => {
      // The sender's next send after the drop starts while the reconnect is under way.
      const timer = setInterval(() => {
        if (sent.bytes < DROP_AFTER_BYTES) return;
        clearInterval(timer);
        pair.drop();
      }, 1);
      return () => assert.ok(sent.bytes >= DROP_AFTER_BYTES);
    });
  });

  test(`a drop just as a key re-exchange completes, while the messages it held (the ${sender}'s) are going out: the session resumes and every byte arrives once, in order`, async () => {
    await transferAcrossDrop(sender, (pair, session, sent) => {
      // The moment: the peer's NEWKEYS arrived and channel data the exchange held back is about
      // to be sent, when the connection goes. Only the first such moment past 4 MiB is used.
      const internals = session as unknown as {
        handleNewKeysMessage(m: unknown, c?: unknown): Promise<void>;
        blockedMessages: unknown[];
      };
      const handleNewKeys = internals.handleNewKeysMessage.bind(session);
      let droppedWithHeld = 0;
      internals.handleNewKeysMessage = async (m, c) => {
        if (!droppedWithHeld && sent.bytes > DROP_AFTER_BYTES && internals.blockedMessages.length > 0) {
          droppedWithHeld = internals.blockedMessages.length;
          pair.drop();
        }
        return handleNewKeys(m, c);
      };
      return () => assert.ok(droppedWithHeld > 0, 'the connection dropped while the key exchange held messages');
    });
  });
}

/** The sender's bytes: each 4-byte word is its own offset, so the receiver can say where the stream first went wrong. */
function fillAt(buffer: Buffer, offset: number): void {
  for (let i = 0; i < buffer.length; i += 4) buffer.writeUInt32BE((offset + i) >>> 0, i);
}

for (const sender of ['server', 'client'] as const)
  for (const ends of ['server', 'client'] as const)
    test(`the ${sender} sending from one reused buffer, keys re-exchanged every 256 KiB, the ${ends} end dropped at random moments: every byte arrives once, in order`, async () => {
      const total = 16 * 1024 * 1024;
      const { pair, server, from, to } = await pairWithChannel(sender, 256 * 1024);
      let got = 0;
      let firstWrong = -1;
      const received = new Promise<void>((resolve) =>
        to.onDataReceived((data) => {
          for (let i = 0; i < data.length && firstWrong < 0; i += 4)
            if (data.readUInt32BE(i) !== (got + i) >>> 0) firstWrong = got + i;
          got += data.length;
          to.adjustWindow(data.length);
          if (got >= total) resolve();
        }),
      );
      // A failed reconnect or a stall ends the test at once, with why (not at the runner's limit).
      let fail: (e: Error) => void = () => {};
      const failed = new Promise<never>((_, reject) => (fail = reject));
      const stall = setTimeout(() => fail(new Error(`stalled: ${got} of ${total} bytes arrived`)), 30_000);
      let reconnecting: Promise<void> | undefined;
      let reconnects = 0;
      pair.client.onDisconnected(() => {
        reconnecting = pair.reconnect().then(
          () => void reconnects++,
          (e: Error) => fail(e),
        );
      });
      let sending = true;
      const dropper = (async () => {
        while (sending) {
          await new Promise((r) => setTimeout(r, Math.random() * 20));
          if (reconnecting) {
            await reconnecting;
            reconnecting = undefined;
          } else if (sending) pair.drop(ends);
        }
      })();
      // One buffer, refilled as soon as send() resolves: a message kept for resending must
      // never point into it.
      const buffer = Buffer.alloc(32 * 1024);
      const transfer = async () => {
        for (let sent = 0; sent < total; sent += buffer.length) {
          fillAt(buffer, sent);
          await from.send(buffer);
        }
        await received;
      };
      try {
        await Promise.race([transfer(), failed]);
      } finally {
        sending = false;
        clearTimeout(stall);
      }
      await dropper;
      assert.ok(reconnects >= 3, `the session resumed ${reconnects} times, not at least 3`);
      assert.equal(firstWrong, -1, `the stream went wrong at byte ${firstWrong}`);
      assert.equal(got, total);
      assert.equal(server.isClosed || pair.client.isClosed, false, 'both sessions live on');
    });

test('a resume whose new connection dies in its key exchange can be tried again, and the session carries on whole', async () => {
  const total = 4 * 1024 * 1024;
  const { pair, from, to } = await pairWithChannel('server');
  const received = receiveAll(to, total);
  const disconnected = new Promise<void>((r) => pair.client.onDisconnected(() => r()));
  pair.drop();
  await disconnected;
  await assert.rejects(pair.reconnect(true), 'the first attempt fails with its connection');
  await pair.reconnect();
  const sha256 = await sendAll(from, total, { bytes: 0 });
  const got = await received;
  assert.equal(got.bytes, total);
  assert.equal(got.sha256, sha256);
});
