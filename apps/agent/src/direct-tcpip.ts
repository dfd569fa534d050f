import { connect as netConnect, type Socket } from 'node:net';
import type { SshChannel } from '@microsoft/dev-tunnels-ssh';
import {
  bridgeChannel,
  closeForwardConnectFailed,
  connectWithReusedReads,
  MAX_PACKET_BYTES,
  type BridgeOutcome,
} from '@airlock/shared/ssh';
import type { Logger } from 'pino';

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export type ForwardDecision = { ok: true } | { ok: false; reason: string };

/** Policy: a loopback host and a port that both the agent's policy and the ticket allow. */
export function checkForward(
  host: string,
  port: number,
  policyPorts: number[],
  ticketPorts: number[],
): ForwardDecision {
  if (!LOOPBACK_NAMES.has(host.toLowerCase()))
    return { ok: false, reason: `host ${host} is not allowed; forwards reach only the VM's loopback (127.0.0.1)` };
  if (!policyPorts.includes(port)) return { ok: false, reason: `port ${port} is not allowed on this VM` };
  if (!ticketPorts.includes(port)) return { ok: false, reason: `port ${port} is not allowed for this session` };
  return { ok: true };
}

/** Opens the target connection; `bulk` forwards may read into a buffer of their own. */
export type Connector = (port: number, opts: { bulk: boolean }) => Socket;

/**
 * Bulk forwards (a session's first few, the ones with a large window) read into one reused
 * buffer of a full packet's size: no allocation per read, and full-size SSH packets. The rest
 * (a browser's dozens of connections) read as usual, so idle connections hold no buffer.
 */
export const loopbackConnector: Connector = (port, { bulk }) =>
  bulk
    ? connectWithReusedReads({ host: '127.0.0.1', port, allowHalfOpen: true }, MAX_PACKET_BYTES)
    : netConnect({ host: '127.0.0.1', port, allowHalfOpen: true });

/**
 * Runs an accepted direct-tcpip channel: connects to 127.0.0.1:port in the background (the
 * channel-open handler must not wait: one slow handler stalls the whole session), holds the
 * client's bytes until connected (no window adjust, so nothing piles up), and closes the
 * channel with the reason (connect-failed signal + error code) if the target refuses or does not
 * answer in time, so Connect can tell the user. Once connected, a lost session or channel resets
 * the target connection (see bridgeChannel); only the client's end of stream becomes a FIN.
 */
export function runForward(
  channel: SshChannel,
  port: number,
  opts: { timeoutMs: number; log: Logger; connector?: Connector; bulk?: boolean },
): void {
  const { log } = opts;
  const held: Buffer[] = [];
  let heldEof = false;
  let connected = false;
  let done = false;
  const startedAt = Date.now();

  // Buffer early data; bridgeChannel takes over once the socket is up.
  const holdData = channel.onDataReceived((d) => held.push(Buffer.from(d)));
  const holdEof = channel.onEof(() => (heldEof = true));
  const onClose = channel.onClosed(() => {
    done = true;
    if (!connected) sock.destroy();
  });

  const sock = (opts.connector ?? loopbackConnector)(port, { bulk: opts.bulk ?? false });
  const timer = setTimeout(() => {
    if (connected || done) return;
    log.warn({ port, timeoutMs: opts.timeoutMs }, `forward to 127.0.0.1:${port} failed: no answer in time`);
    fail('ETIMEDOUT');
  }, opts.timeoutMs);

  const fail = (code: string): void => {
    clearTimeout(timer);
    done = true;
    sock.destroy();
    holdData.dispose();
    holdEof.dispose();
    onClose.dispose();
    void closeForwardConnectFailed(channel, code).catch(() => {});
  };

  sock.once('error', (e: NodeJS.ErrnoException) => {
    if (connected || done) return; // bridgeChannel owns errors once connected
    log.warn({ port, code: e.code }, `forward to 127.0.0.1:${port} failed: ${e.code ?? e.message}`);
    fail(e.code ?? 'EUNKNOWN');
  });
  sock.once('connect', () => {
    clearTimeout(timer);
    if (done) return sock.destroy();
    connected = true;
    sock.setNoDelay(true);
    holdData.dispose();
    holdEof.dispose();
    onClose.dispose();
    log.info({ port, connectMs: Date.now() - startedAt }, 'forward connected');
    bridgeChannel(channel, sock, { onDone: (outcome) => logForwardEnd(log, port, sock, outcome) });
    // Replay what arrived while connecting, then acknowledge it.
    for (const d of held) {
      sock.write(d);
      channel.adjustWindow(d.length);
    }
    if (heldEof) replayEof(channel, sock);
  });
}

/** Why a forward ended, for the agent's log: anything but a clean close names its cause. */
function logForwardEnd(log: Logger, port: number, sock: Socket, outcome: BridgeOutcome): void {
  const counts = { port, bytesIn: sock.bytesRead, bytesOut: sock.bytesWritten };
  if (outcome.kind === 'completed') return log.info(counts, 'forward closed');
  const message =
    outcome.kind === 'local-failed'
      ? `forward ended: the target connection failed (${outcome.reason})`
      : `forward reset: ${outcome.reason}; the target connection was reset`;
  log.info({ ...counts, reason: outcome.reason }, message);
}

/** Re-raises an EOF that arrived before the bridge listened, so the bridge sees the half-close. */
function replayEof(channel: SshChannel, sock: Socket): void {
  const internal = channel as unknown as { handleEof?: () => void };
  if (typeof internal.handleEof === 'function') internal.handleEof();
  else sock.end();
}
