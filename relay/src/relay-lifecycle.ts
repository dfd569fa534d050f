import type { Server } from 'node:https';
import type { Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { CloseCode } from '@airlock/shared';
import type { AuditTrail } from './audit/trail.js';
import type { SessionGuard } from './control/session-guard.js';
import type { SourceLimits } from './control/source-limits.js';
import type { Heartbeat } from './data/heartbeat.js';
import type { SessionPairer } from './data/session-pairer.js';
import type { OpsServer } from './ops/ops-server.js';
import type { CrlBroadcaster } from './org/crl-broadcaster.js';

const SHUTDOWN_GRACE_MS = 1000;

/**
 * Everything a relay runs. Each part can be closed whether or not its start was reached, so a
 * start that fails half-way is undone by the same code as a stop.
 */
export interface RelayParts {
  heartbeat: Heartbeat;
  sourceLimits: SourceLimits;
  guard: SessionGuard;
  crlBroadcaster: CrlBroadcaster;
  pairer: SessionPairer;
  /** Every WebSocket the relay accepted and has not yet seen close. */
  sockets: Set<WebSocket>;
  /** Every TCP connection the server accepted and has not yet seen close. */
  connections: Set<Socket>;
  server: Server;
  wss: WebSocketServer;
  ops: OpsServer | undefined;
  audit: AuditTrail;
  /** Closes the store if the relay opened it, and lets go of the data dir. */
  releaseState(): Promise<void>;
}

/**
 * Timers first, so no sweep or check starts against a closing store; then every session is told
 * why it ends and given a moment to hear it; the audit trail and the store go last, so the
 * sessions' close records land.
 */
export async function shutDownRelay(parts: RelayParts, reason: string): Promise<void> {
  const { heartbeat, sourceLimits, guard, crlBroadcaster, pairer, sockets, server, wss } = parts;
  heartbeat.close();
  sourceLimits.close();
  await guard.close();
  await crlBroadcaster.close();
  pairer.closeAll(CloseCode.shuttingDown, reason);
  for (const ws of sockets) ws.close(CloseCode.shuttingDown, reason);
  // A server that never listened calls back at once (with ERR_SERVER_NOT_RUNNING, which is fine here).
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = Date.now() + SHUTDOWN_GRACE_MS;
  while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const ws of sockets) ws.terminate();
  server.closeAllConnections();
  for (const socket of parts.connections) socket.destroy();
  wss.close();
  await serverClosed;
  try {
    await parts.ops?.close();
    // Session-close records are written in the background; let them land before the store closes.
    await new Promise((r) => setImmediate(r));
    await parts.audit.close();
  } finally {
    // Whatever failed above, the store and the data dir are let go: the next relay needs them.
    await parts.releaseState();
  }
}

/** Listens, or rejects with the listener's error (EADDRINUSE, EACCES) instead of emitting it. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
