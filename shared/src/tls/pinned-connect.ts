import type { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { curlPin, pinsEqual, spkiPin } from './pin.js';

export interface PinnedTlsOptions {
  /** `sha256/<base64>` from the enrollment code: the only trust anchor, no CA or hostname checks. */
  pin: string;
  /** Presented when the server asks (Connect's ephemeral login certificate). */
  clientCert?: { certPem: string; keyPem: string };
  /** Bound on TCP connect + TLS handshake together. Default 10 s. */
  timeoutMs?: number;
  /** SNI name; defaults to the host unless it is an IP address (RFC 6066 forbids IPs in SNI). */
  servername?: string;
}

export interface ConnectPinnedOptions extends PinnedTlsOptions {
  host: string;
  port: number;
}

/** The relay presented a key other than the pinned one: possibly an interception, never retried. */
export class TlsPinMismatchError extends Error {
  override readonly name = 'TlsPinMismatchError';
  constructor(
    readonly host: string,
    readonly port: number,
    readonly expected: string,
    /** `undefined` when the server presented no certificate at all. */
    readonly actual: string | undefined,
  ) {
    super(
      `the relay's certificate does not match the pin from your enrollment code: ${host}:${port} presented ` +
        `${actual ? curlPin(actual) : 'no certificate'}, expected ${curlPin(expected)}. Someone may be intercepting the connection, or the ` +
        `relay's TLS key was replaced; do not continue — ask your admin for the relay's current pin`,
    );
  }
}

export type TlsConnectFailure = 'timeout' | 'refused' | 'unreachable' | 'reset' | 'handshake' | 'closed';

/** Could not complete a TLS handshake with the relay (as opposed to completing it with the wrong relay). */
export class TlsConnectError extends Error {
  override readonly name = 'TlsConnectError';
  constructor(
    readonly reason: TlsConnectFailure,
    readonly host: string,
    readonly port: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Opens a TLS connection and resolves only once the handshake is done AND the server's SPKI
 * matches the pin, so no caller can write an application byte to an unpinned peer. Certificate
 * chain and hostname are deliberately not checked: the pin from the enrollment code replaces both.
 */
export async function connectPinned(options: ConnectPinnedOptions): Promise<TLSSocket> {
  const { socket, pin } = await handshake(options, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (pin === undefined || !pinsEqual(pin, options.pin)) {
    socket.destroy();
    throw new TlsPinMismatchError(options.host, options.port, options.pin, pin);
  }
  return socket;
}

/**
 * The SPKI pin of whatever answers at host:port, read from the handshake; the connection is
 * closed without sending application data. For tests and `airlock-relay tls show`, never for trust.
 */
export async function fetchServerPin(host: string, port: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
  const { socket, pin } = await handshake({ host, port }, timeoutMs);
  socket.destroy();
  if (pin === undefined)
    throw new TlsConnectError('handshake', host, port, `${host}:${port} completed TLS without a certificate`);
  return pin;
}

/** What a TLS server presented, for diagnosis: its pin and whom the certificate names. */
export interface PresentedCertificate {
  pin: string;
  subject: string;
  issuer: string;
  validTo: string;
}

/**
 * The certificate whatever answers at host:port presents (no application data is sent): its
 * pin, subject and issuer, so a diagnosis can name the proxy that intercepts TLS. Never for trust.
 */
export async function fetchServerCertificate(
  host: string,
  port: number,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<PresentedCertificate> {
  const { socket, cert } = await handshake({ host, port }, timeoutMs);
  socket.destroy();
  if (!cert) throw new TlsConnectError('handshake', host, port, `${host}:${port} completed TLS without a certificate`);
  return {
    pin: spkiPin(cert),
    subject: cert.subject.replace(/\n/g, ', '),
    issuer: cert.issuer.replace(/\n/g, ', '),
    validTo: new Date(cert.validTo).toISOString(),
  };
}

function handshake(
  options: Omit<ConnectPinnedOptions, 'pin'>,
  timeoutMs: number,
): Promise<{ socket: TLSSocket; pin: string | undefined; cert: X509Certificate | undefined }> {
  const { host, port } = options;
  const tlsOptions: ConnectionOptions = {
    host,
    port,
    servername: options.servername ?? (isIP(host) === 0 ? host : ''),
    rejectUnauthorized: false, // the pin is checked below instead
    checkServerIdentity: () => undefined,
    // No certificate authority is trusted here, only the pin: without `ca` Node loads its ~140
    // public roots into every process's first TLS context, 3–6 ms of each command's start.
    ca: [],
    ...(options.clientCert ? { cert: options.clientCert.certPem, key: options.clientCert.keyPem } : {}),
  };
  return new Promise((resolve, reject) => {
    let socket: TLSSocket;
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.removeListener('close', onClose);
      socket.on('error', () => {}); // a late error from the socket being torn down has nowhere to go
      socket.destroy();
      reject(error);
    };
    const onError = (e: NodeJS.ErrnoException) => fail(connectError(host, port, e));
    const onClose = () =>
      fail(new TlsConnectError('closed', host, port, `${host}:${port} closed the connection during the TLS handshake`));
    const timer = setTimeout(
      () =>
        fail(
          new TlsConnectError(
            'timeout',
            host,
            port,
            `no TLS handshake with ${host}:${port} within ${timeoutMs} ms; check the relay address and that it is running`,
          ),
        ),
      timeoutMs,
    );
    try {
      socket = tlsConnect(tlsOptions);
    } catch (e) {
      clearTimeout(timer);
      reject(e);
      return;
    }
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      // Read now: OpenSSL forgets an unverified peer's certificate once a TLS 1.3 session ticket
      // arrives. For the same reason no session is ever resumed here (a resumed handshake shows no
      // certificate and would fail the pin).
      const cert = socket.getPeerX509Certificate();
      resolve({ socket, pin: cert ? spkiPin(cert) : undefined, cert });
    });
  });
}

function connectError(host: string, port: number, e: NodeJS.ErrnoException): TlsConnectError {
  const where = `${host}:${port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return new TlsConnectError('refused', host, port, `${where} refused the connection; is the relay running?`, {
        cause: e,
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new TlsConnectError('unreachable', host, port, `cannot resolve ${host}; check the relay address`, {
        cause: e,
      });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return new TlsConnectError('unreachable', host, port, `cannot reach ${where} (${e.code}); check the network`, {
        cause: e,
      });
    // A reset is the network's doing (a link that went, a firewall or proxy in the way, a relay
    // restarting), not a server that speaks something other than TLS: say so, not "is this a relay?".
    case 'ECONNRESET':
    case 'EPIPE':
      return new TlsConnectError(
        'reset',
        host,
        port,
        `the connection to ${where} was reset before TLS completed; check the network`,
        { cause: e },
      );
    default:
      return new TlsConnectError('handshake', host, port, `TLS handshake with ${where} failed: ${e.message}`, {
        cause: e,
      });
  }
}
