import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import { TICKET_TTL_SECONDS, TicketVerifier, TokenIssuer, curlPin, type RelaySigningKey } from '@airlock/shared';
import type { AdminService } from './admin/admin-service.js';
import { openAuditTrail, type AuditTrail } from './audit/trail.js';
import { RelayConfig, type RelayConfigInput } from './config.js';
import { SourceLimits } from './control/source-limits.js';
import { createControlPlane } from './control-plane.js';
import { SessionGuard } from './control/session-guard.js';
import { AgentRegistry, type AgentLink } from './data/agent-registry.js';
import { announceOrgRoot } from './org/announce.js';
import { CrlBroadcaster } from './org/crl-broadcaster.js';
import { OrgView } from './org/org-view.js';
import { runAgentControl } from './data/agent-control.js';
import { AgentReportBudget } from './data/agent-reports.js';
import { Heartbeat } from './data/heartbeat.js';
import { refuseUpgrade } from './data/http-refusal.js';
import type { DataPlaneObserver, SessionSnapshot } from './data/observer.js';
import { SessionPairer } from './data/session-pairer.js';
import { combineObservers, sessionRecorder } from './data/session-recorder.js';
import { createUpgradeHandler } from './data/upgrade-router.js';
import type { Helpdesk } from './helpdesk/helpdesk.js';
import { createRelayLogger } from './logger.js';
import { RelayMetrics } from './ops/metrics.js';
import { startOpsServer, type OpsServer } from './ops/ops-server.js';
import { Readiness } from './ops/readiness.js';
import { timedStore } from './ops/timed-store.js';
import { listen, shutDownRelay } from './relay-lifecycle.js';
import { openRelayState, RELAY_RESTARTED, type RelayTls } from './relay-state.js';
import { writeServedAt } from './served-at.js';
import { publicKeyPemOf } from './signing-key.js';
import type { RelayStore } from './store/types.js';

export interface RelayOptions {
  /** Validated with the RelayConfig schema; omitted fields take their defaults. */
  config?: RelayConfigInput;
  /** Defaults to `<dataDir>/relay.db`, or an in-memory SQLite store without a data dir. */
  store?: RelayStore;
  /** Defaults to `<dataDir>/relay-signing-key.pem` (created on first start), or an ephemeral key. */
  signingKey?: RelaySigningKey;
  /** Defaults to a pino JSON logger on stdout at `info`. */
  logger?: Logger;
  observer?: DataPlaneObserver;
  /** Clock for tokens, TOTP and limits (tests). */
  now?: () => number;
}

export interface Relay {
  /** `https://host:port` */
  url: string;
  /** `wss://host:port` */
  wsUrl: string;
  /** What goes into enrollment codes (config.publicUrl, else `url`). */
  publicUrl: string;
  host: string;
  port: number;
  config: RelayConfig;
  store: RelayStore;
  admin: AdminService;
  audit: AuditTrail;
  tls: RelayTls;
  /** SPKI PEM of the relay's Ed25519 signing key: agents pin it to verify tickets. */
  publicKeyPem: string;
  publicKeyPath?: string;
  signingKey: RelaySigningKey;
  issuer: TokenIssuer;
  logger: Logger;
  guard: SessionGuard;
  helpdesk: Helpdesk;
  metrics: RelayMetrics;
  readiness: Readiness;
  /** `http://host:port` of the metrics listener, when `config.metrics` asks for one. */
  metricsUrl?: string;
  isAgentOnline(vm: string): boolean;
  agent(vm: string): Omit<AgentLink, 'ws'> | undefined;
  sessionStats(sid: string): SessionSnapshot | undefined;
  sessions(): SessionSnapshot[];
  /** Closes every socket (CloseCode.shuttingDown), the listener, timers, the audit trail and the store. */
  close(): Promise<void>;
}

export async function createRelay(options: RelayOptions = {}): Promise<Relay> {
  const config = RelayConfig.parse(options.config ?? {});
  const logger = options.logger ?? createRelayLogger();
  const now = options.now ?? (() => Date.now());
  const state = await openRelayState(config, logger, options);
  const { signingKey, tls } = state;
  const publicKeyPem = publicKeyPemOf(signingKey);
  /** A relay that could not start must not keep the data dir (or the store) from the next one. */
  const abandon = async (error: unknown): Promise<never> => {
    if (!options.store) await state.store.close();
    state.releaseDataDir();
    throw error;
  };
  // Client certificates are self-signed by Connect; what binds one to a user is the access
  // token's `cnf`, checked per request — so the TLS layer asks for a certificate but does not judge it.
  // Made before the audit trail opens (whose sinks keep timers): OpenSSL may still refuse the pair.
  let server: Server;
  try {
    server = createServer({
      cert: tls.certPem,
      key: tls.keyPem,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      handshakeTimeout: config.tlsHandshakeTimeoutMs,
    });
  } catch (error) {
    return abandon(error);
  }
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayloadBytes, perMessageDeflate: false });
  // Read when scraped, so they may name what is defined below.
  const metrics: RelayMetrics = new RelayMetrics({
    sessions: (): SessionSnapshot[] => pairer.list(),
    pendingSessions: () => pairer.pendingCount(),
    agentsOnline: () => registry.list().filter((l) => registry.isOnline(l.vm)).length,
  });
  const store = timedStore(state.store, (area, seconds) => metrics.storeLatency.observe({ area }, seconds));
  const audit = await openAuditTrail({ store, config, signingKey, logger }).catch(abandon);
  // Every audited event passes the metrics on its way: refusal counters cannot miss a refusal.
  const recorder = metrics.meter(audit);

  const issuer = new TokenIssuer(signingKey.privateKey, now);
  const heartbeat = new Heartbeat(config.pingIntervalMs);
  const registry = new AgentRegistry();
  const org = new OrgView(store, now);
  const reportBudget = new AgentReportBudget(config.agentReportsPerMinute, now);
  const pairer = new SessionPairer({
    unpairedTimeoutMs: config.unpairedTimeoutMs,
    resumeWindowMs: config.resumeWindowMs,
    pendingTtlMs: TICKET_TTL_SECONDS * 1000 + 5000,
    maxPendingSessionsPerUser: config.maxPendingSessionsPerUser,
    maxPendingSessions: config.maxPendingSessions,
    highWaterMarkBytes: config.highWaterMarkBytes,
    lowWaterMarkBytes: config.lowWaterMarkBytes,
    logger,
    heartbeat,
    observer: combineObservers(sessionRecorder(store, recorder, logger), metrics.observer(), options.observer),
  });

  const sockets = new Set<WebSocket>();
  // Every TCP connection, handshaken or not: the HTTP layer's closeAllConnections reaches only
  // those that finished TLS, and a silent one would otherwise hold up a stop until its timeout.
  const connections = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  let shuttingDown = false;
  const sourceLimits = new SourceLimits(config, store, logger, now);
  const routeUpgrade = createUpgradeHandler({
    wss,
    store,
    audit: recorder,
    onRefused: (endpoint, status) => metrics.upgradeRefused(endpoint, status),
    tickets: new TicketVerifier(signingKey.publicKey, now),
    pairer,
    logger,
    track: (ws) => {
      // A socket whose checks finished while the relay was stopping must not outlive it.
      if (shuttingDown) return ws.terminate();
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
    },
    refusals: sourceLimits.upgradeRefusals,
    onAgentControl: (ws, agent) =>
      runAgentControl(ws, agent, {
        registry,
        pairer,
        heartbeat,
        logger,
        audit: recorder,
        registerTimeoutMs: config.agentRegisterTimeoutMs,
        sessions: store.sessions,
        reportBudget,
        presence: store.agentPresence,
        org,
      }),
  });
  server.on('upgrade', (req, socket, head) => {
    if (shuttingDown) return refuseUpgrade(socket, 503, 'relay is shutting down');
    routeUpgrade(req, socket, head);
  });
  // Between listening and the API being mounted (the store, ops server and routes come after),
  // a request gets a clear "try again" instead of no answer until Node's request timeout.
  const starting = (_req: IncomingMessage, res: ServerResponse) =>
    res
      .writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' })
      .end(JSON.stringify({ error: { code: 'starting', message: 'the relay is starting; try again in a moment' } }));
  server.on('request', starting);
  // A client that fails the TLS handshake (wrong pin, plain HTTP) is not a relay error.
  server.on('tlsClientError', (error) => logger.debug({ error: error.message }, 'TLS handshake failed'));

  const readiness = new Readiness({ store, signingKey, logger, now });
  const guard = new SessionGuard({
    store,
    pairer,
    registry,
    audit: recorder,
    logger,
    intervalMs: config.revocationCheckMs,
    now,
  });
  const crlBroadcaster = new CrlBroadcaster({ org, registry, logger, intervalMs: config.revocationCheckMs });
  let ops: OpsServer | undefined;
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      await shutDownRelay(
        {
          heartbeat,
          sourceLimits,
          guard,
          crlBroadcaster,
          pairer,
          sockets,
          connections,
          server,
          wss,
          ops,
          audit,
          releaseState: async () => {
            if (!options.store) await state.store.close();
            state.releaseDataDir();
          },
        },
        'relay is shutting down',
      );
      logger.info('relay stopped');
    })());

  /** Every step after the audit trail opened: one that fails is undone by `close`, listener included. */
  const startServing = async () => {
    // A killed relay wrote no close for its live sessions: each open in the audit log gets its close.
    for (const s of state.endedByRestart)
      await recorder.record({
        type: 'session.close',
        actor: `user:${s.user}`,
        outcome: 'failure',
        sid: s.id,
        data: { vm: s.vm, paired: s.openedAt !== undefined, reason: s.endReason ?? RELAY_RESTARTED },
      });
    // The watcher starts before the relay listens: an unlock written in between is not skipped.
    await sourceLimits.start();
    await listen(server, config.port, config.host);
    if (config.metrics) {
      metrics.enableProcessMetrics();
      ops = await startOpsServer({ ...config.metrics, metrics, readiness, logger });
    }
    const port = (server.address() as AddressInfo).port;
    const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
    const url = `https://${hostForUrl}:${port}`;
    const publicUrl = config.publicUrl ?? url;
    // The admin CLI reads this so the codes it prints name the URL and certificate this relay
    // serves; a relay refused the data dir reads it to name the process that holds it.
    if (config.dataDir)
      await writeServedAt(config.dataDir, {
        pid: process.pid,
        url,
        publicUrl,
        startedAt: new Date().toISOString(),
        ...(state.tls.certPath ? { tlsCertFile: state.tls.certPath } : {}),
      });
    const { app, admin, helpdesk } = createControlPlane({
      config,
      store,
      audit: recorder,
      logger,
      now,
      signingKey,
      publicKeyPem,
      publicUrl,
      tlsPin: tls.pin,
      registry,
      pairer,
      issuer,
      readiness,
      org,
      sourceLimits,
    });
    server.off('request', starting);
    server.on('request', app);
    guard.start();
    await crlBroadcaster.start();
    logger.info({ url, publicUrl, tlsPin: curlPin(tls.pin), publicKeyPath: state.publicKeyPath }, 'relay listening');
    await announceOrgRoot(org, logger, now);
    return { port, url, publicUrl, admin, helpdesk };
  };
  const { port, url, publicUrl, admin, helpdesk } = await startServing().catch(async (error: unknown) => {
    // The start's own error is what the caller needs; a failure to clean up after it is logged.
    await close().catch((closeError: unknown) =>
      logger.error({ error: (closeError as Error).message }, 'stopping after a failed start failed'),
    );
    throw error;
  });

  return {
    url,
    wsUrl: url.replace(/^https/, 'wss'),
    publicUrl,
    host: config.host,
    port,
    config,
    store,
    admin,
    audit,
    tls,
    publicKeyPem,
    ...(state.publicKeyPath ? { publicKeyPath: state.publicKeyPath } : {}),
    signingKey,
    issuer,
    logger,
    guard,
    helpdesk,
    metrics,
    readiness,
    ...(ops ? { metricsUrl: ops.url } : {}),
    isAgentOnline: (vm) => registry.isOnline(vm),
    agent: (vm) => {
      const link = registry.get(vm);
      if (!link) return undefined;
      const { ws: _ws, ...rest } = link;
      return rest;
    },
    sessionStats: (sid) => pairer.snapshot(sid),
    sessions: () => pairer.list(),
    close,
  };
}
