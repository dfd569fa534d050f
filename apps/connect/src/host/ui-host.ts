import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type * as z from 'zod';
import type { Logger } from '../core/logger.js';
import type { Dispatch } from '../api/dispatch.js';
import { WindowEvents, type ApiWindow } from '../api/window-events.js';
import { WindowHoldings } from '../api/window-holdings.js';
import type { ApiEvent, ApiResponse } from '../api/contract/index.js';
import { failed, failure } from '../api/service/failures.js';
import {
  decodeWire,
  encodeWire,
  WIRE_MAX_MESSAGE_BYTES,
  WIRE_PATH,
  WIRE_PROTOCOL,
  type WireMessage,
} from '../api/transport/wire.js';
import { checkHostAndOrigin, offeredSecret, secretMatches, type Refusal } from './request-guard.js';
import { loadStaticFiles, reply, serveStatic } from './static-files.js';
import { WireRequest } from './wire-request.js';

/** What the host serves on its WebSocket: the Connect API, and where it logs. */
export interface UiHostApi {
  dispatch: Dispatch;
  /** Subscribes to the service's events. */
  onEvent: (listener: (e: ApiEvent) => void) => () => void;
  log: Logger;
}

export interface UiHostOptions {
  /**
   * The API, or its promise: `airlock ui` serves the page before the rest of Connect is loaded, so
   * the browser loads the page meanwhile; WebSocket upgrades (checked at once) wait for it.
   */
  api: UiHostApi | Promise<UiHostApi>;
  /** The renderer bundle to serve (read once, at start). */
  staticDir: string;
  /** 0 (default): any free port. */
  port?: number;
}

export interface UiHost {
  port: number;
  /** The address to open: the launch secret rides in the fragment, which browsers never send. */
  url: string;
  /** The URL without the secret (safe to log and show). */
  origin: string;
  close(): Promise<void>;
}

// Not `import … from 'node:http'`: its ES-module facade reads every export, and the getter of
// `http.WebSocket` loads Node's bundled undici (~80 ms of start-up that the host never uses).
const { createServer } = process.getBuiltinModule('node:http');

/**
 * Browser mode: the renderer on http://127.0.0.1:<port>/ and the Connect API on a WebSocket at
 * /api — on loopback only, for the one person who holds this launch's secret (request-guard.ts).
 */
export async function startUiHost(options: UiHostOptions): Promise<UiHost> {
  const secret = randomBytes(32).toString('base64url');
  const api = Promise.resolve(options.api);
  // Whoever passed a promise learns of its failure from it and closes the host; nothing waits here.
  api.catch(() => {});
  const withLog = (write: (log: Logger) => void) =>
    void api.then(
      ({ log }) => write(log.child({ component: 'ui-host' })),
      () => {},
    );
  const files = loadStaticFiles(options.staticDir);
  const server: Server = createServer();
  // Loaded after the address is out, like the API: the page needs it only when it connects.
  const wssLoading = import('ws').then(
    ({ WebSocketServer }) =>
      new WebSocketServer({
        noServer: true,
        maxPayload: WIRE_MAX_MESSAGE_BYTES,
        perMessageDeflate: false,
        handleProtocols: (offered) => (offered.has(WIRE_PROTOCOL) ? WIRE_PROTOCOL : false),
      }),
  );
  const clients = new Set<WebSocket>();
  /** Each connected window, with what it opened through the API. */
  const windows = new WindowEvents();
  server.listen({ host: '127.0.0.1', port: options.port ?? 0, exclusive: true });
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  // What is refused is logged by reason only: never a header, a URL, or anything offered as a secret.
  const refuse = (what: string, r: Refusal) =>
    withLog((log) => log.warn({ status: r.status, reason: r.reason }, `refused ${what}`));

  server.on('request', (req, res) => {
    const refused = checkHostAndOrigin(req, port, 'if-present');
    if (refused) {
      refuse('a request', refused);
      return reply(res, refused.status, `refused: ${refused.reason}`);
    }
    serveStatic(req, res, files);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {});
    // Any local process may connect: a target that is no URL is a wrong path like any other (it
    // used to throw here, and the socket stayed open for good).
    const refused: Refusal | undefined =
      requestPath(req) !== WIRE_PATH
        ? { status: 400, reason: 'not the API path' }
        : (checkHostAndOrigin(req, port, 'required') ??
          (secretMatches(offeredSecret(req), secret)
            ? undefined
            : { status: 401, reason: 'no or wrong launch secret' }));
    if (refused) {
      refuse('a WebSocket', refused);
      socket.end(`HTTP/1.1 ${refused.status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    // A socket that went away meanwhile is destroyed by handleUpgrade.
    void Promise.all([api, wssLoading]).then(
      ([ready, server]) => server.handleUpgrade(req, socket, head, (ws) => serveClient(ws, ready)),
      () => socket.destroy(),
    );
  });

  let closed = false;
  let unsubscribe = () => {};
  void api.then(
    ({ onEvent }) => {
      if (closed) return;
      unsubscribe = onEvent((event) => windows.route(event));
    },
    () => {},
  );

  function serveClient(ws: WebSocket, { dispatch, log: parent }: UiHostApi): void {
    const log = parent.child({ component: 'ui-host' });
    const holdings = new WindowHoldings(dispatch, (terminalId) => windows.opened(window, terminalId));
    const window: ApiWindow = {
      holdings,
      deliver: (event) => {
        if (ws.readyState === ws.OPEN) ws.send(encodeWire({ event } satisfies WireMessage));
      },
    };
    clients.add(ws);
    windows.add(window);
    log.info({ clients: clients.size }, 'a window connected');
    ws.on('close', () => {
      clients.delete(ws);
      windows.remove(window);
      log.info({ clients: clients.size }, 'a window went away');
      // A reloaded or closed tab never closes its terminals itself.
      void holdings.release();
    });
    ws.on('error', (e) => log.warn({ error: e.message }, 'window connection failed'));
    ws.on('message', (data, isBinary) => {
      let request: z.infer<typeof WireRequest>;
      try {
        if (isBinary) throw new Error('binary');
        request = WireRequest.parse(decodeWire(data.toString()));
      } catch {
        // Not the wire protocol: whatever sent it is not our renderer.
        log.warn('closing a window connection that sent something that is not a request');
        return ws.close(1008, 'not a request');
      }
      void holdings
        .windowDispatch(request.request, request.params)
        .catch((e: unknown): ApiResponse<unknown> => {
          // A bug on this side (the dispatch answers every failure it expects): logged, answered.
          log.error({ request: request.request, error: (e as Error).stack ?? String(e) }, 'request failed with a bug');
          return failed(
            failure('internal', `internal error while handling ${request.request} (a bug; the log has the detail)`),
          );
        })
        .then((response) => {
          if (ws.readyState === ws.OPEN) ws.send(encodeWire({ id: request.id, response } satisfies WireMessage));
        });
    });
  }

  return {
    port,
    origin,
    url: `${origin}/#secret=${secret}`,
    async close() {
      closed = true;
      unsubscribe();
      for (const ws of clients) ws.terminate();
      void wssLoading.then((server) => server.close());
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The request's path, or undefined when its target is not a URL at all. */
function requestPath(req: IncomingMessage): string | undefined {
  try {
    return new URL(req.url ?? '/', 'http://x').pathname;
  } catch {
    return undefined;
  }
}
