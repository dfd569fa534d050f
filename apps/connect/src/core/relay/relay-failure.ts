import { curlPin, TlsConnectError, TlsPinMismatchError } from '@airlock/shared';
import type { RelayError } from './relay-error.js';

/** The pin mismatch in `e` or its `cause` chain (a wrapping error keeps it as its `cause`). */
export function findPinMismatch(e: unknown): TlsPinMismatchError | undefined {
  for (let x = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++)
    if (x instanceof TlsPinMismatchError) return x;
  return undefined;
}

export function pinMismatchError(
  relayUrl: string,
  e: TlsPinMismatchError,
): Extract<RelayError, { code: 'relay_pin_mismatch' }> {
  return {
    code: 'relay_pin_mismatch',
    url: relayUrl,
    expected: e.expected,
    ...(e.actual ? { presented: e.actual } : {}),
    message:
      `the relay at ${relayUrl} presented TLS key ${e.actual ? curlPin(e.actual) : '(none)'}, which does not match the pin ` +
      `from your enrollment code (${curlPin(e.expected)}); someone may be intercepting the connection, or the ` +
      `relay's key was replaced. Nothing was sent`,
  };
}

/**
 * Why a request never got an answer: the relay's key did not match the pin (never retried, never
 * "fixed" by the user), TLS or TCP failed, or the time ran out — as one line naming the relay.
 */
export function relayConnectFailure(relayUrl: string, e: unknown, timeoutMs: number): RelayError {
  const mismatch = findPinMismatch(e);
  if (mismatch) return pinMismatchError(relayUrl, mismatch);
  const error = e as Error & { cause?: unknown };
  if (error.name === 'TimeoutError' || error.name === 'AbortError')
    return {
      code: 'relay_unreachable',
      url: relayUrl,
      message: `no answer from the relay at ${relayUrl} within ${Math.round(timeoutMs / 1000)} s`,
    };
  const cause = error.cause instanceof Error ? error.cause : error;
  if (cause instanceof TlsConnectError) {
    const why =
      cause.reason === 'refused'
        ? 'connection refused'
        : cause.reason === 'handshake'
          ? `TLS failed (${cause.message}); is this an Airlock relay speaking HTTPS?`
          : cause.message;
    return { code: 'relay_unreachable', url: relayUrl, message: `cannot reach the relay at ${relayUrl}: ${why}` };
  }
  const code = (cause as NodeJS.ErrnoException).code;
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'host name not found'
        : code === 'ECONNRESET'
          ? 'connection reset'
          : code === 'ETIMEDOUT'
            ? 'connection timed out'
            : cause.message;
  return { code: 'relay_unreachable', url: relayUrl, message: `cannot reach the relay at ${relayUrl}: ${why}` };
}
