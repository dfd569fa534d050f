import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { peerCertificateThumbprint } from '@airlock/shared';

/** The peer's address, for rate limits and audit. The relay is reached directly (no proxy headers are trusted). */
export function sourceAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * An address an administrator typed, as the relay's sockets name it: IPv6 in its compressed
 * lower-case form, and an IPv4-mapped one however written (`0:0:0:0:0:ffff:203.0.113.7`,
 * `::ffff:cb00:7107`) as `::ffff:` and the dotted IPv4 address, which sourceNetwork counts as the
 * IPv4 address itself. Other input is returned as it is.
 */
export function canonicalAddress(address: string): string {
  const bare = address.replace(/%.*$/, '');
  if (!isIPv6(bare)) return address;
  const compressed = new URL(`http://[${bare}]`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(compressed);
  if (!mapped) return compressed;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return `::ffff:${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * What per-source limits count by: an IPv4 address (also when it arrives IPv4-mapped), or an IPv6
 * address's /64 — one host usually holds a whole /64, and counting its addresses one by one would
 * give it 2⁶⁴ fresh budgets.
 */
export function sourceNetwork(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  const bare = address.replace(/%.*$/, ''); // a zone (fe80::1%eth0)
  if (!isIPv6(bare)) return address;
  const [head = '', tail] = bare.split('::');
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

function tlsSocket(req: IncomingMessage): TLSSocket | undefined {
  const s = req.socket as Partial<TLSSocket>;
  return typeof s.getPeerX509Certificate === 'function' ? (s as TLSSocket) : undefined;
}

/** x5t#S256 of the client certificate on this connection, if one was presented. */
export function connectionThumbprint(req: IncomingMessage): string | undefined {
  const s = tlsSocket(req);
  return s ? peerCertificateThumbprint(s) : undefined;
}

/** SPKI PEM of the client certificate's key on this connection, if one was presented. */
export function connectionPublicKeyPem(req: IncomingMessage): string | undefined {
  const cert = tlsSocket(req)?.getPeerX509Certificate();
  return cert?.publicKey.export({ type: 'spki', format: 'pem' }).toString();
}
