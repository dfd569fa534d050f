import fc from 'fast-check';
import { SshMessage } from '@microsoft/dev-tunnels-ssh';

/** An SSH message with any type number and any body, sent as given inside an authenticated session. */
export class RawSshMessage extends SshMessage {
  constructor(
    private readonly type: number,
    body: Buffer,
  ) {
    super();
    this.rawBytes = Buffer.concat([Buffer.from([type & 0xff]), body]);
  }

  override get messageType(): number {
    return this.type;
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const str = (s: string | Buffer) => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s);
  return Buffer.concat([u32(b.length), b]);
};
const bool = (v: boolean) => Buffer.from([v ? 1 : 0]);

const absurd = fc.oneof(
  fc.constantFrom(0, 1, 80, 24, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 65_535, 65_536),
  fc.nat(),
);
/** Channel numbers: the ones the session really has (small) and absurd ones. */
const channelId = fc.oneof(fc.integer({ min: 0, max: 4 }), absurd);
const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', 'session', 'direct-tcpip', 'x11', 'forwarded-tcpip', 'auth-agent@openssh.com', 'A'.repeat(5000)),
);
const blob = fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a));
/** Commands are never random: the agent under fuzz runs /bin/true as its shell anyway. */
const safeCommand = fc.constantFrom('true', ':', 'echo fuzz', '');

const channelRequest = fc.oneof(
  fc
    .tuple(fc.constant('pty-req'), text, absurd, absurd, absurd, absurd, blob)
    .map(([t, term, c, r, w, h, modes]) =>
      Buffer.concat([str(t), bool(true), str(term), u32(c), u32(r), u32(w), u32(h), str(modes)]),
    ),
  fc
    .tuple(absurd, absurd, absurd, absurd)
    .map(([c, r, w, h]) => Buffer.concat([str('window-change'), bool(false), u32(c), u32(r), u32(w), u32(h)])),
  fc.constant(Buffer.concat([str('shell'), bool(true)])),
  safeCommand.map((c) => Buffer.concat([str('exec'), bool(true), str(c)])),
  text.map((s) => Buffer.concat([str('subsystem'), bool(true), str(s)])),
  fc.constant(Buffer.concat([str('subsystem'), bool(true), str('sftp')])),
  text.map((s) => Buffer.concat([str('signal'), bool(false), str(s)])),
  fc.tuple(text, text).map(([k, v]) => Buffer.concat([str('env'), bool(true), str(k), str(v)])),
  fc.tuple(text, fc.boolean(), blob).map(([t, w, rest]) => Buffer.concat([str(t), bool(w), rest])),
);

/**
 * Connection-protocol messages (RFC 4254) with absurd values, plus transport messages and
 * random types: what a client that passed authentication can send the agent.
 */
export const craftedMessage: fc.Arbitrary<RawSshMessage> = fc.oneof(
  // CHANNEL_OPEN: session, direct-tcpip to anything, unknown types; absurd windows and packet sizes.
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom('session', 'direct-tcpip', 'x11', 'tun@openssh.com', ''),
        absurd,
        absurd,
        absurd,
        text,
        absurd,
        blob,
      )
      .map(([type, sender, window, packet, host, port, rest]) => {
        const extra = type === 'direct-tcpip' ? Buffer.concat([str(host), u32(port), str('127.0.0.1'), u32(1)]) : rest;
        return new RawSshMessage(90, Buffer.concat([str(type), u32(sender), u32(window), u32(packet), extra]));
      }),
  },
  {
    weight: 6,
    arbitrary: fc
      .tuple(channelId, channelRequest)
      .map(([c, body]) => new RawSshMessage(98, Buffer.concat([u32(c), body]))),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(channelId, absurd).map(([c, n]) => new RawSshMessage(93, Buffer.concat([u32(c), u32(n)]))),
  },
  // Data goes only to channels the agent backs with harmless programs (cat, true) or the echo service.
  {
    weight: 2,
    arbitrary: fc.tuple(channelId, blob).map(([c, d]) => new RawSshMessage(94, Buffer.concat([u32(c), str(d)]))),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(channelId, absurd, blob)
      .map(([c, t, d]) => new RawSshMessage(95, Buffer.concat([u32(c), u32(t), str(d)]))),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(91, 92, 96, 97), channelId, blob)
      .map(([t, c, rest]) => new RawSshMessage(t, Buffer.concat([u32(c), rest]))),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'tcpip-forward',
          'cancel-tcpip-forward',
          'keepalive@openssh.com',
          'no-more-sessions@openssh.com',
        ),
        fc.boolean(),
        text,
        absurd,
      )
      .map(([n, w, a, p]) => new RawSshMessage(80, Buffer.concat([str(n), bool(w), str(a), u32(p)]))),
  },
  // Transport and auth messages out of place, and types nobody defined; bodies truncated or random.
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(1, 2, 3, 4, 5, 6, 7, 20, 21, 30, 31, 50, 51, 52, 60, 81, 82, 99, 100), blob)
      .map(([t, b]) => new RawSshMessage(t, b)),
  },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), blob).map(([t, b]) => new RawSshMessage(t, b)) },
);
