import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { CONTENT_TYPES } from '../api/transport/content-types.js';
import { SECURITY_HEADERS } from '../api/transport/csp.js';

/** A plain response with the renderer's security headers (and never a CORS header). */
export function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

/** The renderer's files by URL path ("/app.js"), read once. */
export type StaticFiles = ReadonlyMap<string, { body: Buffer; contentType: string }>;

/**
 * Reads the renderer bundle (a few files, ~0.7 MB) into memory when the host starts. Served from
 * memory, a file is one write in one turn of the event loop; read from disk per request, it took
 * several (stat, open, reads), and while `airlock ui` loads the rest of Connect each turn waits
 * behind a long module evaluation: the page's files came 120–160 ms late. It also means only the
 * files that are here at start can ever be served: no path from a request reaches the file system.
 * Symbolic links are not followed (the build writes none; one could point outside the folder).
 */
export function loadStaticFiles(dir: string): StaticFiles {
  const files = new Map<string, { body: Buffer; contentType: string }>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const urlPath = '/' + relative(dir, file).split(sep).join('/');
    files.set(urlPath, {
      body: readFileSync(file),
      contentType: CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    });
  }
  return files;
}

/**
 * Serves the renderer: GET and HEAD only, `/` is index.html, anything not among `files` is not
 * found. Every response carries the CSP and security headers.
 */
export function serveStatic(req: IncomingMessage, res: ServerResponse, files: StaticFiles): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed');
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return reply(res, 400, 'bad path');
  }
  if (path.endsWith('/')) path += 'index.html';
  const file = files.get(path);
  if (!file) return reply(res, 404, 'not found');
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': file.contentType,
    'Content-Length': String(file.body.length),
  });
  res.end(req.method === 'HEAD' ? undefined : file.body);
}
