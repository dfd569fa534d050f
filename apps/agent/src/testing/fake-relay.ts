import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  AgentToRelay,
  generateRelaySigningKey,
  SESSION_ID_PARAM,
  TokenIssuer,
  WS_PATHS,
  type RelaySigningKey,
} from '@airlock/shared';
import { webSocketSshStream } from '@airlock/shared/ssh';
import type { Stream } from '@microsoft/dev-tunnels-ssh';
import { WebSocket, WebSocketServer } from 'ws';

export interface UpgradeRecord {
  path: string;
  url: string;
  authorization: string | undefined;
  status: number;
}

/**
 * A tiny stand-in for the relay, for agent tests: authenticates the agent's Authorization
 * header, records control messages, sends dials, and hands the agent's session socket to the
 * test as an SSH stream (the test's SSH client talks to the agent directly over it).
 */
export class FakeRelay {
  readonly key: RelaySigningKey = generateRelaySigningKey();
  readonly issuer = new TokenIssuer(this.key.privateKey);
  readonly relayPublicKeyPem = this.key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  readonly upgrades: UpgradeRecord[] = [];
  readonly messages: AgentToRelay[] = [];
  readonly controls: WebSocket[] = [];
  /** Called for each agent message; return true to consume it. */
  onAgentMessage: ((ws: WebSocket, msg: AgentToRelay) => void) | undefined;
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private waiters: (() => void)[] = [];
  private readonly sessionStreams = new Map<string, Stream>();
  private readonly sessionSockets = new Map<string, WebSocket>();
  /** Frames the agent sent on each session's data socket. */
  readonly agentFrames = new Map<string, number>();

  private constructor(
    readonly credential: string,
    readonly vmId: string,
    autoPong: boolean,
  ) {
    this.server = createServer((_req, res) => res.writeHead(404).end());
    this.wss = new WebSocketServer({ noServer: true, autoPong });
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
  }

  static async start(opts: { credential?: string; vmId?: string; autoPong?: boolean } = {}): Promise<FakeRelay> {
    const vmId = opts.vmId ?? 'test-vm';
    const relay = new FakeRelay(opts.credential ?? `${vmId}.s3cret-credential`, vmId, opts.autoPong ?? true);
    relay.server.listen(0, '127.0.0.1');
    await once(relay.server, 'listening');
    return relay;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get control(): WebSocket | undefined {
    return this.controls.at(-1);
  }

  private changed(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds, re-checking on every relay event. */
  async until<T>(pred: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred();
      if (v) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake relay: timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  private upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => {}); // the agent may reset the connection after a refusal
    const url = new URL(req.url ?? '/', 'http://x');
    const authorization = req.headers.authorization;
    const authorized = authorization === `Bearer ${this.credential}`;
    const known = url.pathname === WS_PATHS.agentControl || url.pathname === WS_PATHS.agentSession;
    const status = !known ? 404 : authorized ? 101 : 401;
    this.upgrades.push({ path: url.pathname, url: req.url ?? '', authorization, status });
    this.changed();
    if (status !== 101) {
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Not Found'}\r\nConnection: close\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (url.pathname === WS_PATHS.agentControl) this.acceptControl(ws);
      else {
        // The SSH stream must listen before the agent's first frame arrives.
        const sid = url.searchParams.get(SESSION_ID_PARAM) ?? '';
        this.sessionStreams.set(sid, webSocketSshStream(ws));
        this.sessionSockets.set(sid, ws);
        this.agentFrames.set(sid, 0);
        ws.on('message', () => this.agentFrames.set(sid, (this.agentFrames.get(sid) ?? 0) + 1));
        this.changed();
      }
    });
  }

  private acceptControl(ws: WebSocket): void {
    this.controls.push(ws);
    ws.on('message', (data) => {
      const msg = AgentToRelay.parse(JSON.parse(data.toString()));
      this.messages.push(msg);
      if (this.onAgentMessage) this.onAgentMessage(ws, msg);
      else if (msg.type === 'register') ws.send(JSON.stringify({ type: 'registered', vm: this.vmId }));
      this.changed();
    });
    ws.on('close', () => this.changed());
    this.changed();
  }

  dial(sessionId: string, ticket: string): void {
    const ws = this.control;
    if (!ws || ws.readyState !== WebSocket.OPEN) throw new Error('fake relay: agent is not connected');
    ws.send(JSON.stringify({ type: 'dial', sessionId, ticket }));
  }

  sessionStream(sid: string, timeoutMs = 5000): Promise<Stream> {
    return this.until(() => this.sessionStreams.get(sid), timeoutMs, `session socket ${sid}`);
  }

  /** Drops the agent's data socket for a session, as a relay restart or network failure would. */
  dropSession(sid: string): void {
    this.sessionSockets.get(sid)?.terminate();
  }

  async close(): Promise<void> {
    for (const ws of [...this.controls, ...this.sessionSockets.values()]) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
