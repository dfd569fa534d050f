import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  AgentEnrollRequest,
  AgentToRelay,
  API_PREFIX,
  formatOneTimeCode,
  generateRelaySigningKey,
  mintServerCertificate,
  newSecret,
  SESSION_ID_PARAM,
  spkiPin,
  TokenIssuer,
  WS_PATHS,
  type MintedCertificate,
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

let sharedCert: Promise<MintedCertificate> | undefined;

/** One relay certificate per test process. */
export function fakeRelayCertificate(): Promise<MintedCertificate> {
  return (sharedCert ??= mintServerCertificate({
    commonName: 'fake-relay',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  }));
}

export interface FakeRelayOptions {
  credential?: string;
  vmId?: string;
  autoPong?: boolean;
  /** The TLS certificate (default: one minted once per process). */
  cert?: MintedCertificate;
}

/**
 * A tiny stand-in for the relay, for agent tests, on HTTPS/WSS with a self-signed certificate
 * (as the real relay): authenticates the agent's Authorization header, records control messages,
 * sends dials, hands the agent's session socket to the test as an SSH stream (the test's SSH
 * client talks to the agent directly over it), and answers agent enrollment for tokens it issued.
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
  /** TCP connections accepted (whether or not TLS and an upgrade followed). */
  tcpConnections = 0;
  /** Agent enrollment requests received (after TLS), and the secrets still unused. */
  enrollRequests = 0;
  private readonly enrollSecrets = new Set<string>();
  /** When set, enrollment answers 429 with this Retry-After. */
  enrollRateLimitSeconds: number | undefined;
  /** When set, a successful enrollment is answered this much later (the token is spent at once). */
  enrollDelayMs: number | undefined;
  /** The relay's TLS pin, `sha256/…`. */
  readonly pin: string;

  private constructor(
    readonly credential: string,
    readonly vmId: string,
    autoPong: boolean,
    readonly cert: MintedCertificate,
  ) {
    this.pin = spkiPin(cert.certPem);
    this.server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => this.request(req, res));
    this.server.on('connection', () => {
      this.tcpConnections++;
      this.changed();
    });
    this.server.on('tlsClientError', () => {}); // a client that rejects our key hangs up mid-handshake
    this.wss = new WebSocketServer({ noServer: true, autoPong });
    this.server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.upgrade(req, socket, head));
  }

  static async start(opts: FakeRelayOptions = {}): Promise<FakeRelay> {
    const vmId = opts.vmId ?? 'test-vm';
    const cert = opts.cert ?? (await fakeRelayCertificate());
    const relay = new FakeRelay(opts.credential ?? `${vmId}.s3cret-credential`, vmId, opts.autoPong ?? true, cert);
    relay.server.listen(0, '127.0.0.1');
    await once(relay.server, 'listening');
    return relay;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `wss://127.0.0.1:${this.port}`;
  }

  get httpsUrl(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** A one-time agent enrollment token (`a1.<secret>.<pin>`) this relay accepts once. */
  newEnrollmentToken(pin = this.pin): string {
    const secret = newSecret();
    this.enrollSecrets.add(secret);
    return formatOneTimeCode('agent', secret, pin);
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (req.method !== 'POST' || req.url !== `${API_PREFIX}/agent/enroll`) return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      this.enrollRequests++;
      this.changed();
      if (this.enrollRateLimitSeconds !== undefined)
        return send(
          429,
          { error: { code: 'rate_limited', message: 'too many enrollment attempts' } },
          {
            'Retry-After': String(this.enrollRateLimitSeconds),
          },
        );
      let body: AgentEnrollRequest;
      try {
        body = AgentEnrollRequest.parse(JSON.parse(Buffer.concat(chunks).toString()));
      } catch {
        return send(400, { error: { code: 'bad_request', message: 'token: missing' } });
      }
      if (!this.enrollSecrets.delete(body.token))
        return send(401, {
          error: { code: 'enrollment_token_rejected', message: 'this agent enrollment token was already used' },
        });
      const answer = () =>
        send(200, { vm: this.vmId, credential: this.credential, relaySigningKeyPem: this.relayPublicKeyPem });
      if (this.enrollDelayMs === undefined) answer();
      else setTimeout(answer, this.enrollDelayMs);
    });
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

  /** `resume`: the session's client lost its connection and asks for it again (the agent opens a new data socket). */
  dial(sessionId: string, ticket: string, options: { resume?: boolean } = {}): void {
    const ws = this.control;
    if (!ws || ws.readyState !== WebSocket.OPEN) throw new Error('fake relay: agent is not connected');
    ws.send(JSON.stringify({ type: 'dial', sessionId, ticket, ...(options.resume ? { resume: true } : {}) }));
  }

  /** The relay ends a session (revocation, an admin's kill). */
  endSession(sessionId: string, reason: string): void {
    const ws = this.control;
    if (!ws || ws.readyState !== WebSocket.OPEN) throw new Error('fake relay: agent is not connected');
    ws.send(JSON.stringify({ type: 'end', sessionId, reason }));
  }

  /** The agent's data socket for a session (the relay's end), for tests that send raw bytes. */
  sessionSocket(sid: string, timeoutMs = 5000): Promise<WebSocket> {
    return this.until(() => this.sessionSockets.get(sid), timeoutMs, `session socket ${sid}`);
  }

  /** The agent's data socket for a session once it is another than `previous` (a resume opened a new one). */
  replacedSessionSocket(sid: string, previous: WebSocket | undefined, timeoutMs = 5000): Promise<WebSocket> {
    return this.until(
      () => {
        const ws = this.sessionSockets.get(sid);
        return ws !== previous ? ws : undefined;
      },
      timeoutMs,
      `a new session socket ${sid}`,
    );
  }

  /** Forgets a finished session's socket and stream (long fuzz runs open many). */
  forgetSession(sid: string): void {
    this.sessionSockets.get(sid)?.terminate();
    this.sessionSockets.delete(sid);
    this.sessionStreams.delete(sid);
    this.agentFrames.delete(sid);
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
