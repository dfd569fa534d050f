import {
  ChannelOpenMessage,
  SshServerSession,
  SshChannel,
  SshAlgorithms,
  SshProtocolExtensionNames,
  SshSessionConfiguration,
  type EncryptionAlgorithm,
  type KeyExchangeAlgorithm,
  type PublicKeyAlgorithm,
} from '@microsoft/dev-tunnels-ssh';
import { PooledRandom } from './pooled-random.js';

/** Channel window for bulk channels (forwards, sftp): throughput through a relay ≈ window ÷ RTT. */
export const BULK_WINDOW_BYTES = 16 * 1024 * 1024;
/**
 * Largest SSH packet payload either end offers and sends (the library's default is 32 KiB).
 * Per-packet work — a cipher context, promises, a WebSocket frame, an event at each hop — is
 * what a bulk transfer pays for, so bigger packets cost less CPU per byte. 256 KiB since the data
 * sockets stopped masking (websocket-stream.ts, `zeroMask`): before, ws copied every frame into a
 * new buffer of its size to mask it, glibc served each such buffer above 128 KiB with a fresh
 * mmap, and the page faults (2-4× per GB) ate the gain. Without that copy, four alternating rounds
 * on one machine: 9.0-10.8 CPU-s/GB via the relay against 12.2-17.2 at 64 KiB (128 KiB: 10.9-11.2),
 * 141-173 against 93-132 MB/s. The agent reads a forwarded connection into a buffer of this size,
 * so one read can fill one packet; its pages are touched only as far as reads fill them.
 */
export const MAX_PACKET_BYTES = 256 * 1024;
/**
 * Largest packet the agent may send on a shell channel (Connect asks for it when it opens one).
 * A terminal's output stops at a mark until the screen has drawn it, and the agent stops between
 * packets: a smaller packet keeps what arrives past the mark small. A shell's output needs no more.
 */
export const SHELL_MAX_PACKET_BYTES = 64 * 1024;
/** Seconds of silence after which either side sends a keep-alive and, failing that, gives up. */
export const SSH_KEEPALIVE_SECONDS = 15;

function pick<T>(table: Record<string, T | null>, names: string[]): T[] {
  return names.map((n) => {
    const a = table[n];
    if (!a) throw new Error(`dev-tunnels-ssh has no algorithm ${n}`);
    return a;
  });
}

/**
 * The one SSH configuration both ends use. aes256-gcm is the only cipher: it is the fastest
 * the library offers here and, being an AEAD, sidesteps the Terrapin class of prefix attacks.
 * The `open-channel-request` extension is removed because requests bundled into a channel open
 * are mis-parsed by the library (docs/dev-tunnels-ssh.md, trap 4).
 */
export function createSshConfig(options: { resume?: boolean } = {}): SshSessionConfiguration {
  useLargePackets();
  usePooledRandom();
  const config = new SshSessionConfiguration(true);
  if (options.resume !== false) enableResume(config);
  replace(
    config.keyExchangeAlgorithms,
    pick<KeyExchangeAlgorithm>(SshAlgorithms.keyExchange, ['ecdhNistp384Sha384', 'ecdhNistp256Sha256']),
  );
  replace(
    config.publicKeyAlgorithms,
    pick<PublicKeyAlgorithm>(SshAlgorithms.publicKey, [
      'ecdsaSha2Nistp384',
      'ecdsaSha2Nistp256',
      'ecdsaSha2Nistp521',
      'rsaWithSha512',
      'rsaWithSha256',
    ]),
  );
  replace(config.encryptionAlgorithms, pick<EncryptionAlgorithm>(SshAlgorithms.encryption, ['aes256Gcm']));
  replace(config.compressionAlgorithms, [null]);
  const idx = config.protocolExtensions.indexOf(SshProtocolExtensionNames.openChannelRequest);
  if (idx >= 0) config.protocolExtensions.splice(idx, 1);
  config.keepAliveTimeoutInSeconds = SSH_KEEPALIVE_SECONDS;
  // The client sends its ECDH init with its KEXINIT (RFC 4253 §7.1, first_kex_packet_follows)
  // instead of waiting for the server's KEXINIT: one round trip less per session start. Both ends
  // put the same exchange first, so the guess holds; a server that chooses another discards it
  // and the client sends a new init (tested). The library judges the guess by the key exchange
  // alone, where the RFC also compares the first host-key algorithms: right between two ends of
  // this library, which is all Airlock connects; an OpenSSH server could disagree and wait.
  config.enableKeyExchangeGuess = true;
  return config;
}

/**
 * Session resume: every packet carries the sequence number last received, and each side keeps
 * what it sent until the other has acknowledged it, so a session carries on over a new
 * connection with nothing lost or repeated. What is kept is bounded by the channel windows.
 */
function enableResume(config: SshSessionConfiguration): void {
  config.protocolExtensions.push(SshProtocolExtensionNames.sessionReconnect);
}

/**
 * The library takes the packet size from two class defaults: the one it offers when opening or
 * accepting a channel, and the cap on what it sends. Both ends run this code, so both agree.
 */
function useLargePackets(): void {
  (ChannelOpenMessage as unknown as { defaultMaxPacketSize: number }).defaultMaxPacketSize = MAX_PACKET_BYTES;
  (SshChannel as unknown as { defaultMaxPacketSize: number }).defaultMaxPacketSize = MAX_PACKET_BYTES;
}

/** Packet padding from a pooled CSPRNG (see PooledRandom); installed once for the process. */
function usePooledRandom(): void {
  if (!(SshAlgorithms.random instanceof PooledRandom)) SshAlgorithms.random = new PooledRandom();
}

function replace<T>(list: T[], items: T[]): void {
  list.splice(0, list.length, ...items);
}

/**
 * A server session on the one configuration. With session resume on, the library wants the list
 * of sessions a new connection may take over: give each session its own (a resume may only take
 * over the session it was asked for), and the same list to the session that carries its resume.
 */
export function createServerSession(reconnectable: SshServerSession[] = []): SshServerSession {
  return new SshServerSession(createSshConfig(), reconnectable);
}
