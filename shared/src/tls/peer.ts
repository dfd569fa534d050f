import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { certThumbprint } from './pin.js';

/**
 * The RFC 8705 `x5t#S256` thumbprint of the client certificate presented on this connection, or
 * undefined when none was presented (or the socket is not TLS). The server runs with
 * `requestCert: true, rejectUnauthorized: false`, so the certificate is self-signed and unverified
 * here: it means something only once compared with the thumbprint an access token is bound to.
 */
export function peerCertificateThumbprint(socket: TLSSocket | Duplex): string | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const cert = socket.getPeerX509Certificate();
  return cert ? certThumbprint(cert) : undefined;
}
