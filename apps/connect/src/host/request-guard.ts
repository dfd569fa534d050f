import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SECRET_PROTOCOL_PREFIX, WIRE_PROTOCOL } from '../api/transport/wire.js';

/**
 * What keeps browser mode from becoming a way in for web pages and other local users:
 * - `Host` must name this host exactly (127.0.0.1 or localhost, with its port): a page on
 *   another site whose name was rebound to 127.0.0.1 (DNS rebinding) sends its own name;
 * - `Origin`, whenever a browser sends one (always on a WebSocket), must be this host: no other
 *   page may script it, and no CORS header ever says otherwise;
 * - the WebSocket must present this launch's secret, which only the URL fragment carried (never
 *   a request line, so never a log) — another local user, or an older launch, does not have it.
 */
export type Refusal = { status: 400 | 403 | 401; reason: string };

export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

export function checkHostAndOrigin(
  req: IncomingMessage,
  port: number,
  origin: 'required' | 'if-present',
): Refusal | undefined {
  const hosts = allowedHosts(port);
  const host = req.headers.host;
  if (!host || !hosts.includes(host.toLowerCase())) return { status: 403, reason: 'Host is not this app' };
  const o = req.headers.origin;
  if (o === undefined) return origin === 'required' ? { status: 403, reason: 'no Origin' } : undefined;
  if (!hosts.map((h) => `http://${h}`).includes(o.toLowerCase()))
    return { status: 403, reason: 'Origin is not this app' };
  return undefined;
}

/** The secret a WebSocket upgrade offers in `Sec-WebSocket-Protocol`, if it offers one. */
export function offeredSecret(req: IncomingMessage): string | undefined {
  const header = req.headers['sec-websocket-protocol'];
  if (typeof header !== 'string') return undefined;
  const offered = header.split(',').map((p) => p.trim());
  if (!offered.includes(WIRE_PROTOCOL)) return undefined;
  const secret = offered.find((p) => p.startsWith(SECRET_PROTOCOL_PREFIX));
  return secret?.slice(SECRET_PROTOCOL_PREFIX.length);
}

/** Constant-time: hashes first, so neither content nor length leaks through timing. */
export function secretMatches(offered: string | undefined, secret: string): boolean {
  if (offered === undefined) return false;
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(h(offered), h(secret));
}
