import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { CONTENT_TYPES } from '../api/transport/content-types.js';
import { SECURITY_HEADERS } from '../api/transport/csp.js';

/** A plain response with the renderer's security headers (and never a CORS header). */
export function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

/**
 * Serves the renderer bundle from `dir`: GET and HEAD only, `/` is index.html, files outside `dir`
 * (dot-dot, encoded or not) are not found. Every response carries the CSP and security headers.
 */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, dir: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed');
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return reply(res, 400, 'bad path');
  }
  if (path.endsWith('/')) path += 'index.html';
  const file = normalize(join(dir, path));
  if (!file.startsWith(normalize(dir + sep)) || path.includes('\0')) return reply(res, 404, 'not found');
  const info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) return reply(res, 404, 'not found');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': String(info.size),
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(file).pipe(res);
}
