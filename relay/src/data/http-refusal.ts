import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Refuses a WebSocket upgrade with a plain HTTP response: status, a one-line reason as the
 * body and in `X-Airlock-Reason` (so clients that only see headers can show it), then closes.
 */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  if (socket.destroyed) return;
  const line = reason.replace(/[\r\n]+/g, ' ');
  const header = line.replace(/[^\x20-\x7e]/g, '?');
  const body = line + '\n';
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Airlock-Reason: ${header}\r\n` +
      '\r\n' +
      body,
  );
}
