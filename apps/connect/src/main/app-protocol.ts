import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { CONTENT_TYPES } from '../api/transport/content-types.js';
import { SECURITY_HEADERS } from '../api/transport/csp.js';
import { isAppUrl } from './hardening.js';
import { APP_SCHEME } from './window.js';

/** The privileges of the app's scheme (registered before the app is ready). */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false, stream: false },
};

/**
 * Answers a request for the app's own scheme from the renderer bundle: the same CSP and security
 * headers as browser mode, GET only, nothing outside `dir`, nothing from another origin.
 */
export async function appProtocolResponse(request: Request, dir: string): Promise<Response> {
  const plain = (status: number, text: string) =>
    new Response(text, { status, headers: { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } });
  if (request.method !== 'GET') return plain(405, 'method not allowed');
  if (!isAppUrl(request.url)) return plain(404, 'not found');
  const url = new URL(request.url);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return plain(400, 'bad path');
  }
  if (path.endsWith('/')) path += 'index.html';
  const file = normalize(join(dir, path));
  if (!file.startsWith(normalize(dir + sep)) || path.includes('\0')) return plain(404, 'not found');
  const body = await readFile(file).catch(() => undefined);
  if (!body) return plain(404, 'not found');
  return new Response(new Uint8Array(body), {
    status: 200,
    headers: { ...SECURITY_HEADERS, 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' },
  });
}
