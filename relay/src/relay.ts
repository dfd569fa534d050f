import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from 'pino';
import {
  AccessTokenVerifier,
  CloseCode,
  TICKET_TTL_SECONDS,
  TicketVerifier,
  TokenIssuer,
  generateRelaySigningKey,
  type RelaySigningKey,
} from '@airlock/shared';
import { RelayConfig, type RelayConfigInput } from './config.js';
import { createApiApp } from './control/api-routes.js';
import { prepareDataDir } from './data-dir.js';
import { AgentRegistry, type AgentLink } from './data/agent-registry.js';
import { runAgentControl } from './data/agent-control.js';
import { Heartbeat } from './data/heartbeat.js';
import type { DataPlaneObserver, SessionSnapshot } from './data/observer.js';
import { SessionPairer } from './data/session-pairer.js';
import { createUpgradeHandler } from './data/upgrade-router.js';
import { refuseUpgrade } from './data/http-refusal.js';
import type { Directory } from './directory/directory.js';
import { MemoryDirectory } from './directory/document.js';
import { JsonFileDirectory } from './directory/json-file-directory.js';
import { createRelayLogger } from './logger.js';
import { loadOrCreateSigningKey, publicKeyPemOf } from './signing-key.js';

export interface RelayOptions {
  /** Validated with the RelayConfig schema; omitted fields take their defaults. */
  config?: RelayConfigInput;
  /** Defaults to `<dataDir>/directory.json`, or an in-memory directory without a data dir. */
  directory?: Directory;
  /** Defaults to `<dataDir>/relay-signing-key.pem` (created on first start), or an ephemeral key. */
  signingKey?: RelaySigningKey;
  /** Defaults to a pino JSON logger on stdout at `info`. */
  logger?: Logger;
  observer?: DataPlaneObserver;
}

export interface Relay {
  /** `http://host:port` */
  url: string;
  /** `ws://host:port` */
  wsUrl: string;
  host: string;
  port: number;
  config: RelayConfig;
  directory: Directory;
  /** SPKI PEM of the relay's Ed25519 signing key: agents pin it to verify tickets. */
  publicKeyPem: string;
  /** Where that public key was written (only with a data dir). */
  publicKeyPath?: string;
  signingKey: RelaySigningKey;
  /** Issues tickets/tokens with the relay's key (tests, `npm start`). */
  issuer: TokenIssuer;
  logger: Logger;
  /** Whether the VM's agent has a registered control socket. */
  isAgentOnline(vm: string): boolean;
  agent(vm: string): Omit<AgentLink, 'ws'> | undefined;
  /** Live view of one session (byte counts, in-flight bytes, paused sides). */
  sessionStats(sid: string): SessionSnapshot | undefined;
  sessions(): SessionSnapshot[];
  /** Closes every socket (CloseCode.shuttingDown), the listener and all timers. */
  close(): Promise<void>;
}

const SHUTDOWN_GRACE_MS = 1000;

export async function createRelay(options: RelayOptions = {}): Promise<Relay> {
  const config = RelayConfig.parse(options.config ?? {});
  const logger = options.logger ?? createRelayLogger();

  if (config.dataDir) await prepareDataDir(config.dataDir, logger);
  let signingKey = options.signingKey;
  let publicKeyPath: string | undefined;
  if (!signingKey && config.dataDir) {
    const loaded = await loadOrCreateSigningKey(config.dataDir);
    signingKey = loaded.key;
    publicKeyPath = loaded.publicKeyPath;
    if (loaded.created) logger.info({ publicKeyPath }, 'created a new relay signing key');
  }
  signingKey ??= generateRelaySigningKey();
  const publicKeyPem = publicKeyPemOf(signingKey);

  const directory =
    options.directory ?? (config.dataDir ? await JsonFileDirectory.open(config.dataDir) : new MemoryDirectory());
  const issuer = new TokenIssuer(signingKey.privateKey);
  const heartbeat = new Heartbeat(config.pingIntervalMs);
  const registry = new AgentRegistry();
  const pairer = new SessionPairer({
    unpairedTimeoutMs: config.unpairedTimeoutMs,
    pendingTtlMs: TICKET_TTL_SECONDS * 1000 + 5000,
    maxPendingSessionsPerUser: config.maxPendingSessionsPerUser,
    maxPendingSessions: config.maxPendingSessions,
    highWaterMarkBytes: config.highWaterMarkBytes,
    lowWaterMarkBytes: config.lowWaterMarkBytes,
    logger,
    heartbeat,
    ...(options.observer ? { observer: options.observer } : {}),
  });

  const app = createApiApp({
    directory,
    registry,
    pairer,
    issuer,
    accessTokens: new AccessTokenVerifier(signingKey.publicKey),
    logger,
    jsonBodyLimitBytes: config.jsonBodyLimitBytes,
    maxPendingChallenges: config.maxPendingChallenges,
  });
  const server: Server = createServer(app);
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayloadBytes, perMessageDeflate: false });
  const sockets = new Set<WebSocket>();
  let shuttingDown = false;
  const routeUpgrade = createUpgradeHandler({
    wss,
    directory,
    tickets: new TicketVerifier(signingKey.publicKey),
    pairer,
    logger,
    track: (ws) => {
      // A socket whose checks finished while the relay was stopping must not outlive it.
      if (shuttingDown) return ws.terminate();
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
    },
    onAgentControl: (ws, vm) =>
      runAgentControl(ws, vm, {
        registry,
        pairer,
        heartbeat,
        logger,
        registerTimeoutMs: config.agentRegisterTimeoutMs,
      }),
  });
  server.on('upgrade', (req, socket, head) => {
    if (shuttingDown) return refuseUpgrade(socket, 503, 'relay is shutting down');
    routeUpgrade(req, socket, head);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${hostForUrl}:${port}`;
  logger.info({ url, publicKeyPath }, 'relay listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      const reason = 'relay is shutting down';
      shuttingDown = true;
      heartbeat.close();
      pairer.closeAll(CloseCode.shuttingDown, reason);
      for (const ws of sockets) ws.close(CloseCode.shuttingDown, reason);
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const ws of sockets) ws.terminate();
      server.closeAllConnections();
      wss.close();
      await serverClosed;
      logger.info('relay stopped');
    })());

  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    host: config.host,
    port,
    config,
    directory,
    publicKeyPem,
    ...(publicKeyPath ? { publicKeyPath } : {}),
    signingKey,
    issuer,
    logger,
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
