import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HealthResponse } from '@airlock/shared';
import type { RelayMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export interface OpsServer {
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * The operations listener: `/metrics` (Prometheus text format), `/healthz` and a `/readyz` with
 * the detailed reasons. Plain HTTP on its own address, 127.0.0.1 by default, never the public
 * port: the numbers say how busy the enclave is, which is nobody's business outside it.
 */
export async function startOpsServer(deps: {
  host: string;
  port: number;
  metrics: RelayMetrics;
  readiness: Readiness;
  logger: Logger;
}): Promise<OpsServer> {
  const { metrics, readiness, logger } = deps;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain; charset=utf-8', 'only GET is served here\n');
    const run = async () => {
      switch (path) {
        case '/metrics':
          return send(res, 200, metrics.registry.contentType, await metrics.registry.metrics());
        case '/healthz': {
          const body: HealthResponse = { status: 'ok', time: new Date().toISOString() };
          return send(res, 200, 'application/json', JSON.stringify(body));
        }
        case '/readyz': {
          const r = await readiness.check();
          return send(res, r.status === 'ready' ? 200 : 503, 'application/json', JSON.stringify(r));
        }
        default:
          return send(res, 404, 'text/plain; charset=utf-8', 'not found: /metrics, /healthz, /readyz\n');
      }
    };
    run().catch((error: unknown) => {
      logger.error({ error: (error as Error).message, path }, 'ops listener request failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error; see the relay log\n');
      else res.destroy();
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    // Said as the metrics listener's problem, so `serve` does not blame the public port.
    throw Object.assign(new Error(`metrics listener ${deps.host}:${deps.port}: ${error.code ?? error.message}`), {
      code: error.code,
      listener: 'metrics',
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${deps.host.includes(':') ? `[${deps.host}]` : deps.host}:${port}`;
  if (!LOOPBACK.has(deps.host))
    logger.warn(
      { url },
      'metrics listen beyond loopback: anyone who reaches this address reads them; firewall it to the Prometheus server',
    );
  logger.info({ url: `${url}/metrics` }, 'metrics listening');
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
