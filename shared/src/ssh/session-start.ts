import { SshConnectionError, SshDisconnectReason, type SshSession, type Stream } from '@microsoft/dev-tunnels-ssh';
import { err, ok, type Result } from '../result.js';

/** Why an SSH session could not start: the peer's bytes or the stream, never our bug. */
export interface SshStartFailure {
  /** The library's message, e.g. "Failed to read the protocol version". */
  message: string;
  reason: SshDisconnectReason;
}

/**
 * The one way Airlock starts an SSH session (either side) on a stream. Never throws and never
 * leaves a promise rejection behind, whatever the peer sends.
 *
 * Library quirk (dev-tunnels-ssh 3.12.42, `SshSession.exchangeVersions`): the session reads the
 * peer's version line in the background and stores that read as `versionExchangePromise`; the
 * key exchange awaits it only after our own KEXINIT has been written. When the peer's first
 * bytes are not a version line (300 × "A", > 20 junk lines, or the stream closing first) that
 * promise rejects while the write is still in flight and nothing awaits it yet: Node's
 * unhandled-rejection rule then ends the whole process — every other session with it. A
 * rejection that comes after `connect()` already failed for another reason is never awaited at
 * all. We mark the promise as handled the moment the library stores it; the same failure still
 * reaches `connect()`, which the caller gets as a typed result. (A second quirk in the same
 * place: a parsable but unsupported version such as `SSH-1.5-…` does not fail the handshake at
 * all; see guardVersionExchange.)
 */
export async function startSshSession(session: SshSession, stream: Stream): Promise<Result<void, SshStartFailure>> {
  guardVersionExchange(session);
  try {
    await session.connect(stream);
    return ok(undefined);
  } catch (e) {
    const error = e as Error & { reason?: unknown };
    return err({
      message: error?.message || String(e),
      reason: typeof error?.reason === 'number' ? error.reason : SshDisconnectReason.protocolError,
    });
  }
}

const VERSION_EXCHANGE = 'versionExchangePromise';

/**
 * Takes over the library's background version read as soon as it is stored: marks it handled,
 * and makes it fail for a version other than 2.0 — the library "closes" such a session while it
 * is not yet connected, which does nothing, so the handshake would wait for a KEXINIT until a
 * timeout instead of failing at once.
 */
function guardVersionExchange(session: SshSession): void {
  const target = session as unknown as Record<string, unknown>;
  const checked = (p: unknown): unknown => {
    if (!(p instanceof Promise)) return p;
    const q = p.then(() => {
      const version = session.remoteVersion?.protocolVersion;
      if (version !== '2.0')
        throw new SshConnectionError(
          `the peer's SSH version ${version === undefined ? 'line could not be parsed' : `${version} is not supported`} (2.0 only)`,
          SshDisconnectReason.protocolVersionNotSupported,
        );
    });
    q.catch(() => {});
    return q;
  };
  let stored = checked(target[VERSION_EXCHANGE]);
  Object.defineProperty(target, VERSION_EXCHANGE, {
    configurable: true,
    enumerable: true,
    get: () => stored,
    set: (p: unknown) => {
      stored = checked(p);
    },
  });
}
