// A VM side (agent, or a relay gone bad) that sends Connect bytes that are not SSH: the session
// fails with a clear `protocol_error`, Connect closes the data socket with the reason (the relay
// audits it), and nothing escapes as an unhandled rejection (node:test fails the file on one).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { test } from 'node:test';
import type { SshChannel } from '@microsoft/dev-tunnels-ssh';
import type { WebSocket } from 'ws';
import { CloseCode } from '@airlock/shared';
import {
  ACKNOWLEDGE_EVERY_BYTES,
  BULK_WINDOW_BYTES,
  MAX_UNACKNOWLEDGED_BYTES,
  unacknowledgedBytes,
} from '@airlock/shared/ssh';
import { listenOnLoopback } from '@airlock/shared/testing';
import { fakeCredentials, startFakeRelay, type FakeRelay, type FakeRelayOptions } from '../test-support/fake-relay.js';
import type { SessionClosedEvent } from './types.js';
import { openVmSession } from './vm-session.js';

const TIMEOUT = { timeout: 30_000 };

async function withRelay(body: (relay: FakeRelay) => Promise<void>, options?: FakeRelayOptions): Promise<void> {
  const relay = await startFakeRelay(options);
  try {
    await body(relay);
  } finally {
    await relay.close();
  }
}

/** The relay's end of the data socket: what the VM side sees when Connect closes it. */
function closeSeenBy(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return (once(ws, 'close') as Promise<[number, Buffer]>).then(([code, reason]) => ({
    code,
    reason: reason.toString(),
  }));
}

/** A session opened through `relay`: when it ends, and what the VM side's end of the data socket sees. */
async function openedSession(relay: FakeRelay) {
  const opened = await openVmSession({ credentials: await fakeCredentials(relay), vm: 'demo-vm', timeoutMs: 10_000 });
  if (!opened.ok) assert.fail(opened.error.message);
  const session = opened.value;
  const ws = relay.dataSockets.at(-1)!;
  return {
    session,
    ws,
    ended: new Promise<SessionClosedEvent>((r) => session.onClosed(r)),
    closed: closeSeenBy(ws),
  };
}

const handshakeJunk: Array<[string, Buffer[]]> = [
  ['300 bytes of "A"', [Buffer.alloc(300, 'A')]],
  ['an unsupported version', [Buffer.from('SSH-1.99-old\r\n')]],
  ['a wrong packet length', [Buffer.from('SSH-2.0-evil\r\n'), Buffer.from([0x7f, 0xff, 0xff, 0xff, 9, 9, 9, 9])]],
  // KEXINIT (type 20) cut short: its 16-byte cookie is not there.
  [
    'a truncated KEXINIT',
    [Buffer.from('SSH-2.0-evil\r\n'), Buffer.from([0, 0, 0, 12, 4, 20, 1, 2, 3, 4, 5, 6, 0, 0, 0, 0])],
  ],
];

for (const [what, frames] of handshakeJunk) {
  test(`handshake: ${what} from the VM side ends the session with protocol_error`, TIMEOUT, async () => {
    await withRelay(async (relay) => {
      let closed: Promise<{ code: number; reason: string }> | undefined;
      relay.hostileAgent = (ws) => {
        closed = closeSeenBy(ws);
        for (const f of frames) ws.send(f);
      };
      const opened = await openVmSession({
        credentials: await fakeCredentials(relay),
        vm: 'demo-vm',
        timeoutMs: 10_000,
      });
      assert.equal(opened.ok, false);
      if (opened.ok) return;
      assert.equal(opened.error.code, 'protocol_error', opened.error.message);
      assert.match(
        opened.error.message,
        /^the session to demo-vm was closed: the other end sent data that is not valid SSH \(.+\)$/,
      );
      const seen = await closed!;
      assert.equal(seen.code, CloseCode.protocolError);
      assert.match(seen.reason, /not valid SSH/);
    });
  });
}

test(
  'mid-session: junk injected after the key exchange (a bad MAC) ends the session with protocol_error',
  TIMEOUT,
  async () => {
    await withRelay(async (relay) => {
      const { session, ended, closed, ws } = await openedSession(relay);
      // A plausible packet length, then bytes that cannot carry a valid AES-GCM tag.
      ws.send(Buffer.concat([Buffer.from([0, 0, 0, 32]), randomBytes(48)]));
      const e = await ended;
      assert.equal(e.error?.code, 'protocol_error', e.reason);
      assert.match(e.reason, /not valid SSH/);
      assert.equal((await closed).code, CloseCode.protocolError);
      assert.equal(session.isClosed, true);
    });
  },
);

/** A service in the VM that sends `bytes` to whoever connects, then closes. */
async function streamingService(bytes: number): Promise<Server> {
  const chunk = Buffer.alloc(1024 * 1024, 0x62);
  const server = createServer((s) => {
    s.on('error', () => {});
    let left = bytes;
    const more = (): void => {
      while (left > 0) {
        left -= chunk.length;
        if (!s.write(chunk)) return void s.once('drain', more);
      }
      s.end();
    };
    more();
  });
  await listenOnLoopback(server);
  return server;
}

/** A service in the VM that reads and drops whatever it is sent. */
async function sinkService(): Promise<Server> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.resume();
  });
  await listenOnLoopback(server);
  return server;
}

/** A session through a fake relay whose agent forwards to `service`, and a channel to it; `service` is closed after. */
async function withChannelTo(
  service: Server,
  options: FakeRelayOptions,
  body: (
    opened: Awaited<ReturnType<typeof openedSession>> & { channel: SshChannel; relay: FakeRelay },
  ) => Promise<void>,
): Promise<void> {
  const port = (service.address() as { port: number }).port;
  try {
    await withRelay(
      async (relay) => {
        const opened = await openedSession(relay);
        const ch = await opened.session.openDirectTcpip(port);
        if (!ch.ok) assert.fail(ch.error.message);
        await body({ ...opened, channel: ch.value, relay });
      },
      { ports: [port], ...options },
    );
  } finally {
    service.close();
  }
}

/** Waits (up to 10 s) until `received()` reaches one bulk window. */
async function oneWindowArrived(received: () => number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (received() < BULK_WINDOW_BYTES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

for (const ignoresWindow of [true, false])
  test(
    ignoresWindow
      ? 'a VM side that sends past the channel window ends the session with protocol_error, saying why'
      : 'a VM side that fills the channel window and waits keeps its session',
    TIMEOUT,
    async () => {
      await withChannelTo(
        await streamingService(4 * BULK_WINDOW_BYTES),
        { agentIgnoresWindow: ignoresWindow },
        async ({ session, ended, closed, channel }) => {
          // Connect's caller never takes the data in, so it never gives window back.
          let received = 0;
          channel.onDataReceived((d) => (received += d.length));
          if (ignoresWindow) {
            const e = await ended;
            assert.equal(e.error?.code, 'protocol_error', e.reason);
            assert.match(e.reason, /the agent sent \d+ bytes unread on a channel with a 16777216-byte window/);
            const seen = await closed;
            assert.equal(seen.code, CloseCode.protocolError);
            assert.match(seen.reason, /unread on a channel/);
          } else {
            await oneWindowArrived(() => received);
            assert.equal(received, BULK_WINDOW_BYTES, 'exactly one window arrived');
            await new Promise((r) => setTimeout(r, 500)); // room for anything past the window
            assert.equal(received, BULK_WINDOW_BYTES, 'and nothing past it');
            assert.equal(session.isClosed, false);
            await session.close();
          }
        },
      );
    },
  );

for (const withholds of [true, false])
  test(
    withholds
      ? 'a VM side that takes an upload without acknowledging it ends the session with protocol_error before Connect keeps much more than its bound'
      : 'a VM side that acknowledges as the agent does keeps its session through a larger upload',
    TIMEOUT,
    async () => {
      const total = MAX_UNACKNOWLEDGED_BYTES + 32 * 1024 * 1024;
      await withChannelTo(
        await sinkService(),
        { agentWithholdsAcknowledgements: withholds },
        async ({ session, ended, closed, channel }) => {
          const chunk = Buffer.alloc(256 * 1024, 0x63);
          let sent = 0;
          while (sent < total && !session.isClosed) {
            const ok = await channel.send(chunk).then(
              () => true,
              () => false,
            );
            if (!ok) break;
            sent += chunk.length;
          }
          if (withholds) {
            const e = await ended;
            assert.equal(e.error?.code, 'protocol_error', e.reason);
            assert.match(e.reason, /the agent stopped acknowledging what it received \(\d+ bytes kept for resending\)/);
            assert.equal((await closed).code, CloseCode.protocolError);
            assert.ok(sent < total, `the upload stopped (${sent} bytes sent)`);
          } else {
            assert.equal(sent, total);
            assert.equal(session.isClosed, false);
            await session.close();
          }
        },
      );
    },
  );

test(
  'Connect acknowledges what it receives even when it gives no window back: the agent keeps almost nothing for it',
  TIMEOUT,
  async () => {
    await withChannelTo(await streamingService(4 * BULK_WINDOW_BYTES), {}, async ({ session, channel, relay }) => {
      // The caller takes nothing in: one window arrives, and no window adjustment (which would
      // acknowledge) ever goes back. Measured once it has all arrived, not while in flight.
      let received = 0;
      channel.onDataReceived((d) => (received += d.length));
      await oneWindowArrived(() => received);
      assert.equal(received, BULK_WINDOW_BYTES);
      await new Promise((r) => setTimeout(r, 300));
      const kept = unacknowledgedBytes(relay.agentSessions.at(-1)!);
      assert.ok(kept < 2 * ACKNOWLEDGE_EVERY_BYTES + 64 * 1024, `the agent keeps ${kept} bytes for Connect`);
      await session.close();
    });
  },
);
