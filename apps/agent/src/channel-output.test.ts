import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SshChannel } from '@microsoft/dev-tunnels-ssh';
import { ChannelOutput } from './channel-output.js';

const KiB = 1024;

/**
 * A channel with the library's send-window bookkeeping (the fields ChannelOutput reads) that
 * records each packet: which stream, how long, and its bytes.
 */
function fakeChannel(o: { window: number; maxPacket: number }) {
  const packets: { stderr: boolean; data: Buffer }[] = [];
  const channel = {
    remoteWindowSize: o.window,
    maxPacketSize: o.maxPacket,
    isClosed: false,
    adjustRemoteWindow(n: number) {
      this.remoteWindowSize += n;
    },
    async send(data: Buffer) {
      assert.ok(data.length <= this.remoteWindowSize && data.length <= this.maxPacketSize, 'sent beyond the window');
      this.remoteWindowSize -= data.length;
      packets.push({ stderr: false, data: Buffer.from(data) });
    },
    async sendExtendedData(_type: number, data: Buffer) {
      this.remoteWindowSize -= data.length;
      packets.push({ stderr: true, data: Buffer.from(data) });
    },
  };
  return { channel, packets, ssh: channel as unknown as SshChannel };
}

const chunk = (length: number, fill: number) => Buffer.alloc(length, fill);
const turn = () => new Promise((r) => setImmediate(r));

test('full 64 KiB reads read in one turn go out as one packet, bytes in order', async () => {
  const { ssh, packets } = fakeChannel({ window: 16 * 1024 * KiB, maxPacket: 256 * KiB });
  const out = new ChannelOutput(ssh);
  for (const fill of [1, 2, 3]) out.write(chunk(64 * KiB, fill));
  out.write(chunk(10, 4)); // the short read that ends the burst
  await out.flushed();
  assert.equal(packets.length, 1);
  assert.deepEqual(
    packets[0]!.data,
    Buffer.concat([chunk(64 * KiB, 1), chunk(64 * KiB, 2), chunk(64 * KiB, 3), chunk(10, 4)]),
  );
});

test('a short read is sent at once, without waiting for the turn to end', async () => {
  const { ssh, packets } = fakeChannel({ window: 1024 * KiB, maxPacket: 256 * KiB });
  const out = new ChannelOutput(ssh);
  out.write(Buffer.from('$ '));
  await Promise.resolve();
  assert.equal(packets.length, 1, 'a prompt waited for the event loop');
  assert.equal(packets[0]!.data.toString(), '$ ');
});

test('packets never pass the channel packet size or the window, and stderr is never merged into stdout', async () => {
  const { ssh, channel, packets } = fakeChannel({ window: 200 * KiB, maxPacket: 128 * KiB });
  const out = new ChannelOutput(ssh);
  for (const fill of [1, 2, 3]) out.write(chunk(64 * KiB, fill));
  out.write(chunk(100, 9), true);
  out.write(chunk(64 * KiB, 4));
  await turn();
  // Two reads fill a packet; the third goes alone (stderr follows it); the window's last bytes
  // take the start of the fourth.
  assert.deepEqual(
    packets.map((p) => [p.stderr, p.data.length]),
    [
      [false, 128 * KiB],
      [false, 64 * KiB],
      [true, 100],
      [false, 8 * KiB - 100],
    ],
  );
  channel.adjustRemoteWindow(1024 * KiB);
  await out.flushed();
  assert.equal(packets.length, 5);
  assert.deepEqual(packets[4]!.data.length, 64 * KiB - (8 * KiB - 100));
  assert.deepEqual(
    Buffer.concat(packets.filter((p) => !p.stderr).map((p) => p.data)),
    Buffer.concat([1, 2, 3, 4].map((fill) => chunk(64 * KiB, fill))),
  );
});

test('a window smaller than the head read sends what fits and keeps the rest in order', async () => {
  const { ssh, channel, packets } = fakeChannel({ window: 10 * KiB, maxPacket: 256 * KiB });
  const out = new ChannelOutput(ssh);
  const data = Buffer.from(Array.from({ length: 64 * KiB }, (_, i) => i % 251));
  out.write(data);
  await turn();
  assert.deepEqual(
    packets.map((p) => p.data.length),
    [10 * KiB],
  );
  channel.adjustRemoteWindow(1024 * KiB);
  await out.flushed();
  assert.deepEqual(Buffer.concat(packets.map((p) => p.data)), data);
});
