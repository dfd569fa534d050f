// The two ends of many idle sessions, without an SSH session or a process per session: a fake
// agent (its control link, and a data socket per dial) and Connect's side (POST /sessions, then
// the data socket with the ticket and the login's client certificate). The relay cannot tell
// them from the real programs: it pairs and copies bytes it never reads.
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import type { Agent } from 'node:https';
import { WebSocket } from 'ws';
import { RelayClient, type RelayCredentials } from '@airlock/connect';
import {
  createPinnedHttpsAgent,
  SESSION_ID_PARAM,
  sshPublicKeyBlob,
  WS_PATHS,
  type RelayToAgent,
} from '@airlock/shared';
import { zeroMask } from '@airlock/shared/ssh';
import { chunk, sessionBlock, StreamCheck } from './load-stream.js';

/** A relay busy with thousands of handshakes answers slowly; a load run waits rather than fails. */
const HANDSHAKE_TIMEOUT_MS = 60_000;

export interface LoadRelay {
  wsUrl: string;
  pin: string;
  agentCredential: string;
}

/**
 * An agent that joins every session it is asked to dial. It sends nothing unless Connect's side
 * asks: a message `send <chunks>` makes it stream that many chunks of the session's own bytes
 * (load-stream.ts), with backpressure.
 */
export class IdleAgent {
  readonly sockets = new Set<WebSocket>();
  private joinedCount = 0;

  private constructor(
    private readonly relay: LoadRelay,
    private readonly control: WebSocket,
    private readonly tls: Agent,
    private readonly onJoined: (joined: number) => void,
  ) {
    control.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as RelayToAgent;
      if (msg.type === 'dial') this.dial(msg.sessionId);
    });
  }

  /** `onJoined` hears the count of sessions joined so far, after each join. */
  static async connect(relay: LoadRelay, onJoined: (joined: number) => void = () => {}): Promise<IdleAgent> {
    const tls = createPinnedHttpsAgent({ pin: relay.pin, timeoutMs: HANDSHAKE_TIMEOUT_MS });
    const control = new WebSocket(relay.wsUrl + WS_PATHS.agentControl, {
      agent: tls,
      headers: { authorization: `Bearer ${relay.agentCredential}` },
    });
    await once(control, 'open');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const registered = once(control, 'message');
    control.send(
      JSON.stringify({ type: 'register', hostKey: sshPublicKeyBlob(publicKey).toString('base64'), version: 'load' }),
    );
    const [reply] = (await registered) as [Buffer];
    if ((JSON.parse(reply.toString()) as RelayToAgent).type !== 'registered')
      throw new Error(`the relay did not register the load agent: ${reply.toString()}`);
    return new IdleAgent(relay, control, tls, onJoined);
  }

  private dial(sid: string): void {
    const ws = new WebSocket(`${this.relay.wsUrl}${WS_PATHS.agentSession}?${SESSION_ID_PARAM}=${sid}`, {
      agent: this.tls,
      headers: { authorization: `Bearer ${this.relay.agentCredential}` },
      perMessageDeflate: false,
      // As the real data sockets send their frames (shared/src/ssh/websocket-stream.ts).
      generateMask: zeroMask,
    });
    ws.on('error', () => {});
    ws.once('open', () => {
      this.sockets.add(ws);
      ws.once('close', () => this.sockets.delete(ws));
      this.onJoined(++this.joinedCount);
    });
    ws.once('message', (data) => {
      const m = /^send (\d+)$/.exec(data.toString());
      if (m) void streamTo(ws, sessionBlock(sid), Number(m[1]));
    });
  }

  close(): void {
    this.control.terminate();
    for (const ws of this.sockets) ws.terminate();
    this.tls.destroy();
  }
}

/** Sends `chunks` chunks of a session's stream, never more than 1 MiB unsent at a time. */
async function streamTo(ws: WebSocket, block: Buffer, chunks: number): Promise<void> {
  for (let n = 0; n < chunks && ws.readyState === WebSocket.OPEN; n++) {
    const c = chunk(block, n);
    if (ws.bufferedAmount > 1024 * 1024) await new Promise<void>((r) => ws.send(c, () => r()));
    else ws.send(c);
  }
}

/** Connect's side: sessions opened with the logged-in user's token and client certificate. */
export class IdleConnect {
  private readonly api: RelayClient;
  private readonly tls: Agent;
  readonly sockets = new Set<WebSocket>();
  private readonly sessionIds = new Map<WebSocket, string>();

  constructor(
    private readonly relay: LoadRelay,
    credentials: RelayCredentials,
  ) {
    this.api = new RelayClient({ endpoint: credentials.endpoint, token: credentials.token });
    this.tls = createPinnedHttpsAgent({
      pin: relay.pin,
      clientCert: credentials.endpoint.clientCert,
      timeoutMs: HANDSHAKE_TIMEOUT_MS,
    });
  }

  /** POST /sessions, then the data socket; resolves once it is open (the agent joins on its own). */
  async open(vm: string): Promise<void> {
    const created = await this.api.createSession(vm);
    if (!created.ok) throw new Error(`POST /sessions: ${created.error.message}`);
    const { sessionId, ticket } = created.value;
    const ws = new WebSocket(`${this.relay.wsUrl}${WS_PATHS.connect}?${SESSION_ID_PARAM}=${sessionId}`, {
      agent: this.tls,
      headers: { authorization: `Bearer ${ticket}` },
      perMessageDeflate: false,
      generateMask: zeroMask,
    });
    ws.on('error', () => {});
    await once(ws, 'open');
    this.sockets.add(ws);
    this.sessionIds.set(ws, sessionId);
    ws.once('close', () => this.sockets.delete(ws));
  }

  /**
   * Asks the agent side of every session for `chunks` chunks of its own stream and checks what
   * arrives; resolves when each has all of them or `timeoutMs` passed.
   */
  async transfer(
    chunks: number,
    timeoutMs: number,
  ): Promise<{ sessions: number; bytes: number; problems: string[]; incomplete: number }> {
    const checks = [...this.sockets].map((ws) => {
      const check = new StreamCheck(sessionBlock(this.sessionIds.get(ws)!));
      const done = new Promise<void>((resolve) => {
        ws.on('message', (d: Buffer) => {
          check.push(d);
          if (check.chunks >= chunks || check.problem) resolve();
        });
        ws.once('close', () => resolve());
      });
      ws.send(`send ${chunks}`);
      return { check, done };
    });
    await Promise.race([Promise.all(checks.map((c) => c.done)), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    return {
      sessions: checks.length,
      bytes: checks.reduce((n, c) => n + c.check.bytes, 0),
      problems: checks.flatMap((c) => (c.check.problem ? [c.check.problem] : [])),
      incomplete: checks.filter((c) => c.check.chunks < chunks).length,
    };
  }

  /** Closes every session from Connect's side (the relay closes the agent's side). */
  async closeAll(): Promise<void> {
    const closing = [...this.sockets].map((ws) => once(ws, 'close'));
    for (const ws of this.sockets) ws.close(1000, 'load run done');
    await Promise.all(closing);
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.tls.destroy();
    await this.api.close();
  }
}
