import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { peerCertificateThumbprint } from '@airlock/shared';

/** The peer's address, for rate limits and audit. The relay is reached directly (no proxy headers are trusted). */
export function sourceAddress(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
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
