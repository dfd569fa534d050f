import { AgentToRelay, RelayToAgent, TlsPinMismatchError, WS_PATHS } from '@airlock/shared';
import type { Agent as HttpsAgent } from 'node:https';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { backoffDelay, maxAttempt, type BackoffPolicy } from './backoff.js';
import type { Dial } from './session-host.js';

export type LinkState = 'connecting' | 'online' | 'offline' | 'closed';

export interface LinkStateEvent {
  state: LinkState;
  /**
   * Why the link went offline: 'unauthorized', 'tls-pin-mismatch', 'pong-timeout', a close
   * code/reason, an error.
   */
  reason?: string;
  /** For 'offline': the delay before the next attempt. */
  retryInMs?: number;
}

export interface ControlLinkOptions {
  relayUrl: string;
  vmId: string;
  credential: string;
  /** Pinned to the relay's TLS key (createPinnedHttpsAgent): no byte goes to an unpinned relay. */
  tlsAgent: HttpsAgent;
  hostKeyB64: string;
  version: string;
  backoff: BackoffPolicy & { stableAfterMs: number };
  keepAlive: { pingIntervalMs: number; pongTimeoutMs: number };
  log: Logger;
  onDial: (dial: Dial) => void;
  /** The relay ended a session (revocation): it ends here too, connected or not. */
  onEnd?: (sessionId: string, reason: string) => void;
  /** A revocation list the relay pushed (the agent keeps it only if it is valid and newer). */
  onCrl?: (chain: string[]) => void;
  /** With an organisation root: this boot's VM chain, registered with the host key. */
  vmChain?: string[];
  random?: () => number;
}

const HANDSHAKE_TIMEOUT_MS = 10_000;

const PIN_MISMATCH_ADVICE =
  "the relay's TLS key does not match this agent's pinned key (relayPin); nothing was sent. Someone may be " +
  "intercepting the connection — or, if the admin replaced the relay's TLS key, enroll this agent again with a " +
  'new token (airlock-agent enroll --force <relay-url> <token>). Retrying with backoff';
const MAX_CONTROL_FRAME = 64 * 1024;

/**
 * The agent's long-lived, outbound control socket to the relay: registers the host key, receives
 * dial requests, and keeps itself alive (reconnect with backoff + jitter, ping/pong timeout).
 */
export class ControlLink {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private stateValue: LinkState = 'offline';
  private listeners = new Set<(e: LinkStateEvent) => void>();
  private retryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pongTimer: NodeJS.Timeout | undefined;
  private onlineAt = 0;
  private closing = false;
  private offlineReason: string | undefined;
  private unauthorized = false;

  private vmChain: string[] | undefined;

  constructor(private readonly opts: ControlLinkOptions) {
    this.vmChain = opts.vmChain;
  }

  /** A re-signed host key certificate: sent now if online, and registered on every reconnect. */
  renewVmChain(vmChain: string[]): void {
    this.vmChain = vmChain;
    if (this.stateValue === 'online') this.send({ type: 'vm-chain', vmChain });
  }

  get state(): LinkState {
    return this.stateValue;
  }

  onState(listener: (e: LinkStateEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    if (this.closing || this.ws || this.retryTimer) return;
    this.connect();
  }

  /** Sends a message on the control socket; false if the link is not open. */
  send(msg: AgentToRelay): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(AgentToRelay.parse(msg)));
    return true;
  }

  /** Stops reconnecting and closes the socket. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopKeepAlive();
    const ws = this.ws;
    if (ws && ws.readyState !== WebSocket.CLOSED) {
      const closed = new Promise<void>((r) => ws.once('close', () => r()));
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'agent shutting down');
      else ws.terminate();
      const t = setTimeout(() => ws.terminate(), 2000);
      await closed;
      clearTimeout(t);
    }
    this.setState({ state: 'closed' });
  }

  private setState(e: LinkStateEvent): void {
    this.stateValue = e.state;
    for (const l of this.listeners) l(e);
  }

  private connect(): void {
    this.retryTimer = undefined;
    const { relayUrl, vmId, credential, log } = this.opts;
    const url = `${relayUrl}${WS_PATHS.agentControl}`;
    this.offlineReason = undefined;
    this.unauthorized = false;
    this.setState({ state: 'connecting' });
    log.debug({ url, attempt: this.attempt }, 'connecting to relay');
    const ws = new WebSocket(url, {
      agent: this.opts.tlsAgent,
      headers: { Authorization: `Bearer ${credential}` },
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      maxPayload: MAX_CONTROL_FRAME,
      perMessageDeflate: false,
    });
    this.ws = ws;

    ws.on('unexpected-response', (req, res) => {
      const status = res.statusCode ?? 0;
      if (status === 401 || status === 403) {
        this.unauthorized = true;
        this.offlineReason = 'unauthorized';
        log.error(
          { status, vm: vmId },
          `relay refused the agent credential (HTTP ${status}): check the credential configured for VM "${vmId}"; retrying slowly`,
        );
      } else {
        this.offlineReason = `http ${status}`;
        log.warn({ status }, `relay answered the control socket upgrade with HTTP ${status}`);
      }
      res.resume();
      req.destroy();
      // ws does not emit 'close' for an aborted upgrade request in every version; make sure.
      setImmediate(() => this.onClosed(ws));
    });
    ws.on('open', () => {
      this.send({
        type: 'register',
        hostKey: this.opts.hostKeyB64,
        version: this.opts.version,
        ...(this.vmChain ? { vmChain: this.vmChain } : {}),
      });
      this.startKeepAlive(ws);
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      clearTimeout(this.pongTimer);
      this.pongTimer = undefined;
    });
    ws.on('error', (e) => {
      if (e instanceof TlsPinMismatchError) {
        this.offlineReason = 'tls-pin-mismatch';
        log.error({ relay: `${e.host}:${e.port}`, expected: e.expected, presented: e.actual }, PIN_MISMATCH_ADVICE);
      }
      if (!this.offlineReason) this.offlineReason = e.message;
    });
    ws.on('close', (code, reason) => {
      if (!this.offlineReason) this.offlineReason = `closed ${code}${reason.length ? ' ' + reason.toString() : ''}`;
      this.onClosed(ws);
    });
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const { log } = this.opts;
    let msg: RelayToAgent;
    try {
      if (isBinary) throw new Error('binary frame');
      const parsed = RelayToAgent.safeParse(JSON.parse(data.toString()));
      if (!parsed.success) throw new Error(parsed.error.issues[0]?.message ?? 'bad message');
      msg = parsed.data;
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'ignoring malformed control message from relay');
      return;
    }
    if (msg.type === 'registered') {
      if (msg.vm !== this.opts.vmId) log.warn({ vm: msg.vm }, 'relay registered this agent under another VM id');
      this.onlineAt = Date.now();
      log.info({ vm: msg.vm }, 'registered with relay; online');
      this.setState({ state: 'online' });
    } else if (msg.type === 'dial') {
      this.opts.onDial({
        sessionId: msg.sessionId,
        ticket: msg.ticket,
        ...(msg.userChain ? { userChain: msg.userChain } : {}),
        ...(msg.crl ? { crl: msg.crl } : {}),
        ...(msg.resume ? { resume: true } : {}),
      });
    } else if (msg.type === 'crl') {
      this.opts.onCrl?.(msg.crl);
    } else if (msg.type === 'end') {
      this.opts.onEnd?.(msg.sessionId, msg.reason);
    }
  }

  private onClosed(ws: WebSocket): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    this.stopKeepAlive();
    if (this.closing) return;
    const { backoff, log } = this.opts;
    if (this.onlineAt && Date.now() - this.onlineAt >= backoff.stableAfterMs) this.attempt = 0;
    this.onlineAt = 0;
    if (this.unauthorized) this.attempt = Math.max(this.attempt, maxAttempt(backoff));
    const delay = backoffDelay(this.attempt, backoff, this.opts.random);
    this.attempt++;
    const reason = this.offlineReason ?? 'closed';
    log.warn({ reason, retryInMs: delay }, 'control link to relay is down; reconnecting');
    this.setState({ state: 'offline', reason, retryInMs: delay });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  private startKeepAlive(ws: WebSocket): void {
    const { pingIntervalMs, pongTimeoutMs } = this.opts.keepAlive;
    this.pingTimer = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.ping();
      if (!this.pongTimer)
        this.pongTimer = setTimeout(() => {
          this.pongTimer = undefined;
          this.offlineReason = 'pong-timeout';
          this.opts.log.warn({ pongTimeoutMs }, 'relay did not answer a ping; dropping the control link');
          ws.terminate();
        }, pongTimeoutMs);
    }, pingIntervalMs);
  }

  private stopKeepAlive(): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
  }
}
