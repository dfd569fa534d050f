import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import {
  CommandRequestMessage,
  SshAuthenticationType,
  SshChannelOpenFailureReason,
  SshServerSession,
  type KeyPair,
  type SshChannel,
} from '@microsoft/dev-tunnels-ssh';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode, sshFingerprint, verifyLogin, type SessionResponse } from '@airlock/shared';
import {
  BULK_WINDOW_BYTES,
  bridgeChannel,
  createSshConfig,
  DirectTcpipOpenMessage,
  generateHostKey,
  PtyRequestMessage,
  publicKeyBlob,
  SubsystemRequestMessage,
  webSocketSshStream,
  WindowChangeMessage,
} from '@airlock/shared/ssh';

export interface FakeRelayOptions {
  /** Fingerprint of the one user key the fake agent accepts (undefined: accept any). */
  acceptUserKey?: string;
  /** Ports in the session response (what the ticket allows). */
  ports?: number[];
  /** Ports the fake agent really connects to (default: same as `ports`). */
  agentPorts?: number[];
  /** What happens on the data socket upgrade. */
  dataPlane?: 'pair' | 'reject-401' | 'agent-refused' | 'unpaired-timeout' | 'silent-agent';
  /** Register a different host key than the agent presents (a man in the middle). */
  registerWrongHostKey?: boolean;
  /** Users who may log in (challenge signature checked against the PEM). */
  users?: Record<string, string>;
}

/** The access token the fake relay issues and expects. */
export const FAKE_ACCESS_TOKEN = 'fake-access-token';

export interface FakeRelay {
  url: string;
  /** What the fake agent saw: requests on session channels, by kind. */
  seen: { requests: string[]; windowChanges: Array<[number, number]>; authorization: string[]; urls: string[] };
  lastSession?: SessionResponse;
  /** The fake agent's SSH server sessions, so a test can act as a hostile VM. */
  agentSessions: SshServerSession[];
  close(): Promise<void>;
}

const TICKET = 'test-ticket-' + randomUUID();

/**
 * A relay and an agent in one small server, for Connect's unit tests: `POST /api/v1/sessions`
 * answers with a SessionResponse, `/ws/connect` checks the ticket header and runs the SSH
 * server side directly (no pairing). The agent side implements just enough: exec (a few canned
 * commands), pty-req/shell/window-change, subsystem, and direct-tcpip to allowed ports.
 */
export async function startFakeRelay(options: FakeRelayOptions = {}): Promise<FakeRelay> {
  const hostKey: KeyPair = await generateHostKey();
  const presentedBlob = await publicKeyBlob(hostKey);
  const registeredBlob = options.registerWrongHostKey ? await publicKeyBlob(await generateHostKey()) : presentedBlob;
  const ports = options.ports ?? [];
  const agentPorts = options.agentPorts ?? ports;
  const seen: FakeRelay['seen'] = { requests: [], windowChanges: [], authorization: [], urls: [] };
  const servers: SshServerSession[] = [];
  let lastSession: SessionResponse | undefined;

  const nonces = new Set<string>();
  const json = (res: ServerResponse, status: number, body: unknown): void =>
    void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const http: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => route(req, body, res));
  });
  function route(req: IncomingMessage, body: string, res: ServerResponse): void {
    if (req.method === 'POST' && req.url === '/api/v1/login/challenge') {
      const nonce = randomUUID() + randomUUID();
      nonces.add(nonce);
      return json(res, 200, { nonce, expiresAt: new Date(Date.now() + 60_000).toISOString() });
    }
    if (req.method === 'POST' && req.url === '/api/v1/login') {
      const b = JSON.parse(body) as { user: string; nonce: string; signature: string };
      const pem = options.users?.[b.user];
      if (!pem || !nonces.delete(b.nonce) || !verifyLogin(pem, b.user, b.nonce, b.signature))
        return json(res, 401, { error: { code: 'login_failed', message: 'unknown user, key or challenge' } });
      return json(res, 200, {
        accessToken: FAKE_ACCESS_TOKEN,
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
        user: b.user,
      });
    }
    if (req.headers.authorization !== `Bearer ${FAKE_ACCESS_TOKEN}` && options.users)
      return json(res, 401, { error: { code: 'unauthenticated', message: 'missing or bad access token' } });
    if (req.method === 'GET' && req.url === '/api/v1/vms')
      return json(res, 200, {
        vms: [
          { id: 'demo-vm', online: true, ports },
          { id: 'off-vm', online: false, ports: [] },
        ],
      });
    if (req.method === 'POST' && req.url === '/api/v1/sessions') {
      {
        const { vm } = JSON.parse(body) as { vm: string };
        if (vm === 'off-vm')
          return json(res, 409, { error: { code: 'vm_offline', message: 'the agent of off-vm is not connected' } });
        lastSession = {
          sessionId: randomUUID(),
          vm,
          ticket: TICKET,
          hostKey: registeredBlob.toString('base64'),
          hostKeyFingerprint: sshFingerprint(registeredBlob),
          ports,
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        };
        relay.lastSession = lastSession;
        return json(res, 201, lastSession);
      }
    }
    json(res, 404, { error: { code: 'not_found', message: 'no' } });
  }
  const wss = new WebSocketServer({ noServer: true });
  http.on('upgrade', (req, socket, head) => {
    seen.authorization.push(String(req.headers.authorization ?? ''));
    seen.urls.push(req.url ?? '');
    if (options.dataPlane === 'reject-401' || req.headers.authorization !== `Bearer ${TICKET}`) {
      const body = 'ticket expired 12 s ago\n';
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (options.dataPlane === 'agent-refused') return ws.close(CloseCode.agentRefused, 'user key not in ticket');
      if (options.dataPlane === 'unpaired-timeout')
        return setTimeout(() => ws.close(CloseCode.unpairedTimeout, 'the agent did not join within 0.1 s'), 100);
      if (options.dataPlane === 'silent-agent') return; // paired, but the agent never speaks
      runAgent(ws);
    });
  });

  function runAgent(ws: WebSocket): void {
    const server = new SshServerSession(createSshConfig());
    servers.push(server);
    server.credentials = { publicKeys: [hostKey] };
    server.onAuthenticating((e) => {
      if (
        e.authenticationType !== SshAuthenticationType.clientPublicKey &&
        e.authenticationType !== SshAuthenticationType.clientPublicKeyQuery
      )
        return;
      const key = e.publicKey;
      if (!key) return;
      e.authenticationPromise = publicKeyBlob(key).then((blob) =>
        !options.acceptUserKey || sshFingerprint(blob) === options.acceptUserKey ? { user: e.username } : null,
      );
    });
    server.onChannelOpening((e) => {
      if (e.request.channelType === 'session') {
        setupSessionChannel(e.channel, ws);
        return;
      }
      if (e.request.channelType === 'direct-tcpip') {
        const open = e.request.convertTo(new DirectTcpipOpenMessage());
        if (open.host !== '127.0.0.1' || !agentPorts.includes(open.port)) {
          e.failureReason = SshChannelOpenFailureReason.administrativelyProhibited;
          e.failureDescription = `port ${open.port} is not allowed by the agent policy`;
          return;
        }
        e.channel.maxWindowSize = BULK_WINDOW_BYTES;
        const channel = e.channel;
        const sock = connect({ host: '127.0.0.1', port: open.port, allowHalfOpen: true });
        sock.on('error', () => void channel.close().catch(() => {}));
        bridgeChannel(channel, { readable: sock, writable: sock });
        return;
      }
      e.failureReason = SshChannelOpenFailureReason.unknownChannelType;
    });
    void server.connect(webSocketSshStream(ws)).catch(() => {});
  }

  function setupSessionChannel(channel: SshChannel, ws: WebSocket): void {
    let pty = false;
    channel.onRequest((e) => {
      const type = e.requestType;
      seen.requests.push(type);
      if (type === 'pty-req') {
        const m = e.request.convertTo(new PtyRequestMessage());
        seen.windowChanges.push([m.cols, m.rows]);
        pty = true;
        e.isAuthorized = true;
      } else if (type === 'window-change') {
        const m = e.request.convertTo(new WindowChangeMessage());
        seen.windowChanges.push([m.cols, m.rows]);
        e.isAuthorized = true;
      } else if (type === 'shell') {
        e.isAuthorized = true;
        setImmediate(() => runShell(channel, pty));
      } else if (type === 'exec') {
        const command = e.request.convertTo(new CommandRequestMessage()).command ?? '';
        e.isAuthorized = true;
        setImmediate(() => runExec(channel, command, ws));
      } else if (type === 'subsystem') {
        const name = e.request.convertTo(new SubsystemRequestMessage()).subsystem;
        seen.requests.push(`subsystem:${name}`);
        e.isAuthorized = name === 'sftp';
        if (e.isAuthorized) setImmediate(() => runEcho(channel, 0));
      } else {
        e.isAuthorized = false;
      }
    });
  }

  /** Echoes input; on EOF answers with EOF and exit status. */
  function runEcho(channel: SshChannel, status: number, prefix = ''): void {
    if (prefix) void channel.send(Buffer.from(prefix));
    channel.onDataReceived((d) => {
      const copy = Buffer.from(d);
      channel.adjustWindow(d.length);
      void channel.send(copy);
    });
    channel.onEof(() => void finish(channel, status));
  }

  /** A line-oriented toy shell: `exit N` ends with status N, anything else is echoed back. */
  function runShell(channel: SshChannel, pty: boolean): void {
    void channel.send(Buffer.from(pty ? 'pty$ ' : '$ '));
    let buf = '';
    channel.onDataReceived((d) => {
      buf += Buffer.from(d).toString();
      channel.adjustWindow(d.length);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        const m = /^exit (\d+)$/.exec(line);
        if (m) return void finish(channel, Number(m[1]));
        void channel.send(Buffer.from(`you said: ${line}\n`));
      }
    });
    channel.onEof(() => void finish(channel, 0));
  }

  function runExec(channel: SshChannel, command: string, ws: WebSocket): void {
    if (command === 'cat') return runEcho(channel, 0);
    if (command === 'drop') {
      // The path dies mid-command, as when the relay or the VM goes away.
      void channel
        .send(Buffer.from('partial\n'))
        .then(() => setTimeout(() => ws.close(CloseCode.peerClosed, 'agent went away'), 50));
      return;
    }
    if (command.startsWith('fail ')) {
      const status = Number(command.slice(5));
      void (async () => {
        await channel.send(Buffer.from('to stdout\n'));
        await channel.sendExtendedData(1, Buffer.from('to stderr\n'));
        await finish(channel, status);
      })();
      return;
    }
    void (async () => {
      await channel.send(Buffer.from(`ran: ${command}\n`));
      await finish(channel, 0);
    })();
  }

  const finished = new WeakSet<SshChannel>();
  async function finish(channel: SshChannel, status: number): Promise<void> {
    if (finished.has(channel)) return;
    finished.add(channel);
    try {
      await channel.send(Buffer.alloc(0));
      await channel.close(status);
    } catch {
      // the client went away first
    }
  }

  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const relay: FakeRelay = {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    seen,
    agentSessions: servers,
    close: async () => {
      for (const s of servers) s.dispose();
      for (const c of wss.clients) c.terminate();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
  return relay;
}
