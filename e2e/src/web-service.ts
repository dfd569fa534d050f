import { createServer, type Server } from 'node:http';
import { KNOWN_PORTS } from '@airlock/connect/api/contract';

/**
 * A small web page "in the VM" on one of the ports the app knows as web ports (so its forward
 * gets "Open in browser"); the first of them that is free here, as other tests share this machine.
 */
export async function startWebService(body: string): Promise<{ server: Server; port: number }> {
  const candidates = Object.entries(KNOWN_PORTS)
    .filter(([port, p]) => p.web && Number(port) >= 1024)
    .map(([port]) => Number(port));
  for (const port of candidates) {
    const server = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.end(`<!doctype html><title>in the VM</title><p id="mark">${body}</p>`);
    });
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) return { server, port };
  }
  throw new Error(`none of the web ports ${candidates.join(', ')} is free on this machine`);
}
