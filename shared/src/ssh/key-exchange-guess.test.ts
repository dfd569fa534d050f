import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SshAlgorithms, SshClientSession, type KeyExchangeAlgorithm } from '@microsoft/dev-tunnels-ssh';
import { connectedSshPair, rawPeerLink, type RawPeerLink } from '../testing/index.js';
import { createSshConfig } from './config.js';
import { releaseSession } from './session-release.js';
import { startSshSession } from './session-start.js';

const KEXINIT = 20;
const KEX_ECDH_INIT = 30;

/** The cleartext packets (before NEWKEYS) the SSH side sent to the raw side, as their payloads. */
function clearPackets(link: RawPeerLink): { payloads: Buffer[]; nth: (type: number, n: number) => Promise<Buffer> } {
  let bytes = Buffer.alloc(0);
  let versionSeen = false;
  const payloads: Buffer[] = [];
  const ofType = (type: number) => payloads.filter((p) => p[0] === type);
  const waiters = new Set<() => void>();
  link.raw.on('message', (data: Buffer) => {
    bytes = Buffer.concat([bytes, data]);
    if (!versionSeen) {
      const eol = bytes.indexOf('\r\n');
      if (eol < 0) return;
      bytes = bytes.subarray(eol + 2);
      versionSeen = true;
    }
    while (bytes.length >= 5 && bytes.length >= 4 + bytes.readUInt32BE(0)) {
      const length = bytes.readUInt32BE(0);
      payloads.push(bytes.subarray(5, 4 + length - bytes[4]!));
      bytes = bytes.subarray(4 + length);
    }
    for (const w of waiters) w();
  });
  return {
    payloads,
    // The n-th (from 1) packet of `type`, once it has come; fails after 5 s without it.
    nth: (type, n) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = payloads.map((p) => p[0]).join(', ');
          reject(new Error(`no packet ${n} of type ${type} within 5 s; the peer sent types [${seen}]`));
        }, 5000);
        const check = () => {
          const found = ofType(type)[n - 1];
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      }),
  };
}

function nameList(names: string[]): Buffer {
  const text = Buffer.from(names.join(','));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(text.length);
  return Buffer.concat([length, text]);
}

/** A cleartext SSH packet around `payload`, padded to 8-byte blocks as RFC 4253 §6 asks. */
function packet(payload: Buffer): Buffer {
  let padding = 8 - ((5 + payload.length) % 8);
  if (padding < 4) padding += 8;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(1 + payload.length + padding);
  head[4] = padding;
  return Buffer.concat([head, payload, Buffer.alloc(padding)]);
}

/** A server's KEXINIT that offers only the given key exchange (and what the client needs besides). */
function serverKexInit(kex: string): Buffer {
  const lists = [
    [kex],
    ['ecdsa-sha2-nistp256'],
    ['aes256-gcm@openssh.com'],
    ['aes256-gcm@openssh.com'],
    ['hmac-sha2-256'],
    ['hmac-sha2-256'],
    ['none'],
    ['none'],
    [],
    [],
  ].map(nameList);
  return packet(Buffer.concat([Buffer.from([KEXINIT]), Buffer.alloc(16, 7), ...lists, Buffer.from([0, 0, 0, 0, 0])]));
}

/** first_kex_packet_follows: the boolean after a KEXINIT's ten name-lists (then a uint32 reserved). */
function guessFollows(kexInit: Buffer): boolean {
  return kexInit[kexInit.length - 5] === 1;
}

/** The client's ECDH public value `Q_C` (RFC 5656 §4): an uncompressed point, 97 bytes for P-384, 65 for P-256. */
function ecdhPointLength(init: Buffer): number {
  return init.readUInt32BE(1);
}

async function clientAgainstRawServer(
  body: (link: RawPeerLink, packets: ReturnType<typeof clearPackets>) => Promise<void>,
): Promise<void> {
  const link = await rawPeerLink();
  const packets = clearPackets(link);
  const client = new SshClientSession(createSshConfig());
  try {
    // Not awaited: the raw side never finishes the exchange; releasing the client ends it.
    void startSshSession(client, link.stream);
    link.raw.send(Buffer.from('SSH-2.0-raw_test_server\r\n'));
    await body(link, packets);
  } finally {
    releaseSession(client);
    await link.close();
  }
}

test('the client sends its ECDH init with its KEXINIT, before the server has sent a KEXINIT (one round trip less)', async () => {
  await clientAgainstRawServer(async (_link, packets) => {
    const init = await packets.nth(KEX_ECDH_INIT, 1);
    const kexInit = packets.payloads.find((p) => p[0] === KEXINIT);
    assert.ok(kexInit, 'a KEXINIT came first');
    assert.equal(guessFollows(kexInit), true, 'the KEXINIT announces the guess (first_kex_packet_follows)');
    assert.equal(ecdhPointLength(init), 97, 'the guess is for the first exchange offered, ecdh-sha2-nistp384');
    assert.deepEqual(
      packets.payloads.map((p) => p[0]),
      [KEXINIT, KEX_ECDH_INIT],
    );
  });
});

test('a server that prefers another key exchange gets a new ECDH init for the one it chose', async () => {
  await clientAgainstRawServer(async (link, packets) => {
    const guess = await packets.nth(KEX_ECDH_INIT, 1);
    assert.equal(ecdhPointLength(guess), 97);
    link.raw.send(serverKexInit('ecdh-sha2-nistp256'));
    const second = await packets.nth(KEX_ECDH_INIT, 2);
    assert.equal(ecdhPointLength(second), 65, 'the new init is for ecdh-sha2-nistp256');
  });
});

test('a real server offering only the second key exchange still completes the handshake with a guessing client', async () => {
  const p256 = SshAlgorithms.keyExchange.ecdhNistp256Sha256 as KeyExchangeAlgorithm;
  const pair = await connectedSshPair((server) => {
    server.config.keyExchangeAlgorithms.splice(0, server.config.keyExchangeAlgorithms.length, p256);
  });
  try {
    assert.equal(pair.client.config.enableKeyExchangeGuess, true);
    assert.equal(pair.client.isConnected, true);
    const opened = pair.server.acceptChannel();
    const channel = await pair.client.openChannel();
    await opened;
    assert.equal(channel.isClosed, false);
  } finally {
    await pair.close();
  }
});
